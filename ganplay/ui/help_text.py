"""One sentence per option, for the setup panel's tooltips (losses come from the engine's
DESCRIPTIONS, which hold their formulas)."""
from __future__ import annotations

FIELD_HELP: dict[str, str] = {
    "data.name": "Which distribution to learn: 2D toys (ring, grid, ...), your own points, or MNIST images.",
    "data.modes": "Number of Gaussians on the ring.",
    "data.radius": "Radius of the ring (or distance of the two Gaussians / blobs from the centre).",
    "data.std": "Standard deviation of each Gaussian mode; 'high quality' means within 3 of them.",
    "data.grid_n": "The grid has grid_n x grid_n Gaussians.",
    "data.spacing": "Distance between neighbouring grid centres.",
    "data.noise": "Noise added to the line, spiral, moons, circles or swiss roll.",
    "data.theta": "x position of the second segment (the WGAN paper's parallel-lines example).",
    "data.path": "A .csv or .npy file of (x, y) rows for 'points', or a folder of MNIST IDX files.",
    "data.limit": "MNIST: train on the first N images only (0 = all).",
    "model.arch": "Network family: fully connected MLPs, or the convolutional DCGAN (images only).",
    "model.latent_dim": "Dimension of z; 1 or 2 lets the canvas draw G's manifold as a mesh.",
    "model.prior": "Distribution of z: standard Gaussian N(0, I) or uniform U(-1, 1).",
    "model.latent_modes": "K > 0: G also reads which of z's first K coordinates is largest, as a one-hot code, so its input is a mixture of K separated Gaussians and it need not draw in-between shapes (0 = off).",
    "model.g_depth": "Number of hidden layers in the generator.",
    "model.g_width": "Units per hidden layer of the generator.",
    "model.d_depth": "Number of hidden layers in the discriminator.",
    "model.d_width": "Units per hidden layer of the discriminator.",
    "model.g_activation": "Hidden-layer non-linearity of the generator.",
    "model.d_activation": "Hidden-layer non-linearity of the discriminator (LeakyReLU is the DCGAN rule).",
    "model.g_norm": "Normalisation after each hidden layer of G (BatchNorm or LayerNorm).",
    "model.d_norm": "Normalisation after each hidden layer of D.",
    "model.spectral_norm": "Divide every D weight by its largest singular value, so D is 1-Lipschitz.",
    "model.init": "Weight initialisation: PyTorch's default or orthogonal.",
    "model.conditional": "Conditional GAN: G(z, y) and D(x, y) with y a class label.",
    "loss.name": "The game G and D play; hover over a loss for its formula.",
    "loss.real_label": "Target for real samples in D's loss; 0.9 is one-sided label smoothing.",
    "loss.clip": "WGAN: D's weights are clipped to [-c, c] after each update.",
    "loss.gp_lambda": "WGAN-GP: weight lambda of the (|grad D(x_hat)| - 1)^2 penalty on interpolates.",
    "loss.gp": "Extra one-centred gradient penalty weight, for any loss.",
    "loss.r1": "R1 penalty gamma/2 E|grad D(x)|^2 on real data (0 = off).",
    "train.steps": "Total steps of a CLI run (the window trains until you pause or reach 'stop at').",
    "train.batch_size": "Samples per batch for real and for generated data.",
    "train.d_steps": "k: discriminator updates per generator update.",
    "train.lr_d": "Learning rate of D's optimiser (TTUR: it is often higher than G's).",
    "train.lr_g": "Learning rate of G's optimiser.",
    "train.opt_d": "Optimiser of the discriminator.",
    "train.opt_g": "Optimiser of the generator.",
    "train.beta1": "Adam's beta1 (momentum); 0.5 or 0 is usual for GANs.",
    "train.beta2": "Adam's beta2.",
    "train.momentum": "Momentum of SGD and RMSprop.",
    "train.ema": "Exponential moving average of G's weights (0 = off, e.g. 0.999); the views show the average.",
    "train.unrolled": "Unrolled GAN: G's loss looks this many D steps ahead (0 = off).",
    "train.pack": "PacGAN: D judges packs of m samples, which penalises collapse.",
    "train.seed": "Random seed of the networks' initialisation and of the data and z streams.",
    "train.device": "Where to train: auto (CUDA when present), CPU or CUDA.",
    "train.eval_every": "Metrics every N steps (the window also bounds their cost in time).",
    "train.log_every": "CLI: write the loss history every N steps.",
}

# data fields that matter for each data set (the others are hidden)
DATA_FIELDS: dict[str, tuple[str, ...]] = {
    "ring": ("modes", "radius", "std"),
    "grid": ("grid_n", "spacing", "std"),
    "two_gaussians": ("radius", "std"),
    "gaussian": ("std",),
    "blobs": ("radius", "std"),
    "line": ("noise",), "spiral": ("noise",), "moons": ("noise",), "circles": ("noise",),
    "swiss_roll": ("noise",), "checkerboard": (), "segments": ("theta",),
    "points": ("path",), "mnist": ("path", "limit"), "stacked_mnist": ("path", "limit"),
}

MNIST_CREDIT = ("MNIST database of handwritten digits: Yann LeCun, Corinna Cortes and "
                "Christopher J.C. Burges, licensed CC BY-SA 3.0.")

FIRST_RUN_HINT = ("Press Space (or Play) to train a GAN on the ring; pick a preset on the left, "
                  "e.g. 'vanilla' to watch mode collapse, then 'stable' to see the modes come back.")
