"""Through training: momentum SGD of seed problems 6 and 7.

momentum (eqs (13)-(16) in floating point), exact (fixed point) and buffer (the information
buffer), roundtrip (forward and back, measured), jacobian (eqs (25)-(30)), hypergrad,
objectives.
"""
