"""Through a grid: the MDRNN of seed problems 3 to 5.

mdrnn (the model, raster and wavefront), layout (the skewed diagonals), cost (eqs (10)-(11)
and a tally of what runs), bench, gradcheck; for problem 5: mdlstm, convnet, nets (every
model behind one interface), context (sensitivity), warp, train and warptest.
"""
