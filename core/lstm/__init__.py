"""Through time: the LSTM of seed problems 1 and 2.

model (the cell, step by step, forward and backward), sweep (the in-place NumPy sweep),
seed (the seed's eqs (1)-(9) as written), experiments (runs and gradient checks), bench.
"""
