"""The look every picture shares: its font, colours and sizes."""

_FONT = "Helvetica"
_INK = "#111827"
_MUTED = "#6b7280"
_EDGE = "#6b7280"
_RED = "#dc2626"
_RED_FILL = "#fee2e2"
_STYLE = {  # kind: (border colour, label-cell fill, border width)
    "leaf": ("#2563eb", "#dbeafe", 1),
    "intermediate": ("#6b7280", "#f3f4f6", 1),
    "output": ("#b45309", "#fde68a", 2),
}
_OP_FILL = "#fef3c7"
_OP_BORDER = "#a16207"
_CONST_COLOUR = "#9ca3af"
_BOX = ("#047857", "#ecfdf5")  # a collapsed group: border, fill
_CLUSTER_BORDER = "#9ca3af"
_CLUSTER_FILLS = ("#fafafa", "#f0f9ff", "#f5f3ff")
_EDGE_FONT = "10"  # points: the labels on edges (products, input names)
_CHAR_WIDTH = 6.4  # points per character of the 11 pt font, generously (for fixed-size cells)
_SMALL_CHAR_WIDTH = 6.0  # the same for the 10 pt edge labels
