"""Window texts that are not about one config field: which data fields each data set uses, the
MNIST credit and the first-run hint. (Each field's own one-line help lives with the field, in
``ganplay.engine.config``'s dataclass metadata; losses' formulas come from the engine's
DESCRIPTIONS.)"""
from __future__ import annotations

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

# ---------------------------------------------------------------------- Help -> Guide (ui/guide.py)
# The guide reads the canvas layers from ganplay.live.layers.LAYERS, the charts from the charts'
# tables and the live fields from the config, so new ones appear in it; these are the words around
# them. Plain sentences; guide.py turns them into one HTML page.

GUIDE_INTRO = ("ganplay trains a GAN in a process of its own and shows it as it learns. The canvas in "
               "the middle draws the data and the generator; the charts on the right follow the "
               "losses and the quality figures; the setup on the left holds every setting; the "
               "latent explorer moves through the generator's input. Hover over any control for a "
               "one-line explanation.")

GUIDE_CANVAS_2D = ("For 2-D data the canvas draws these layers, each switched on and off from the "
                   "View menu or the layer bar above the canvas:")

GUIDE_CANVAS_EXTRA = (
    ("Your drawing", "With Draw data on, click or drag to paint points (dark green); leave draw mode "
                     "to train on them. Clear drawing removes them."),
    ("Opened generator", "File \u2192 Open generator shows an exported generator's samples in orange; "
                         "training is unchanged."),
    ("Latent explorer", "The explorer's G(z) (orange dot with its trail) and the A \u2192 B path G(z(t))."),
)

GUIDE_CANVAS_IMAGES = ("For image data (MNIST, Stacked MNIST) the canvas shows a grid of samples from a "
                       "fixed z, so the same digits take shape as training goes on; a conditional GAN "
                       "shows one row per digit with the same z along each column. Click a digit to "
                       "make it A or B of the latent explorer's interpolation (the explorer's "
                       "\u201cclicked digit sets\u201d buttons say which).")

GUIDE_CHARTS = ("The charts share one step axis. Each legend entry shows its curve's last value "
                "(\u201cD loss 0.693\u201d); hover over a chart for the step and value of every "
                "curve's nearest point. Mouse wheel zooms, drag pans, right click for the chart menu "
                "(\u201cView All\u201d undoes a zoom).")

# chart title -> what it tells you (titles from charts.py; a chart missing here lists its curves)
CHART_HELP: dict[str, str] = {
    "Losses": "D loss and G loss per step. In a balanced game they hover around the loss's "
              "equilibrium (log 4 = 1.386 for D and log 2 = 0.693 for G with the original loss); "
              "D loss near 0 means D wins outright and G gets no useful gradient.",
    "Mean D output": "D(x): D's mean output on real data; D(G(z)): on generated data. Both near 0.5 "
                     "(dashed) means D cannot tell them apart.",
    "Gradient norms": "|grad D| and |grad G|: the size of each network's gradient. Spikes warn of "
                      "instability; a G gradient near 0 means G has stopped learning.",
    "Modes covered and high-quality samples (%)": "The VEEGAN protocol on 2,500 samples: the share of "
                                                  "the mixture's modes with samples near them, and the "
                                                  "share of samples within 3\u03c3 of a mode.",
    "W1 and JSD (as D sees it)": "W1: the Wasserstein-1 distance between real and generated samples "
                                 "(lower is better). JSD: the Jensen-Shannon divergence that D's "
                                 "outputs imply, on a batch and on 2,500 samples.",
    "Critic scores (raw, not probabilities)": "A critic's mean score on real and generated data. Only "
                                               "their difference means something: the critic's "
                                               "estimate of W1 (next chart).",
    "Mean T(x) of the f-GAN (raw scores)": "The f-GAN's variational function T on real and generated "
                                           "data, before its output activation.",
    "W1: from samples, and the critic's estimate": "W1 between real and generated samples, and "
                                                   "E[D(x)] - E[D(G(z))], the critic's estimate of it "
                                                   "(only as good as the Lipschitz constraint: clipping "
                                                   "or the gradient penalty; for hinge, a margin).",
    "W1 and the f-divergence estimate": "W1 between real and generated samples, and -L_D: the "
                                        "variational lower bound on the f-divergence that D has "
                                        "found (with GP or R1 on, minus their penalty).",
    "Classes present, precision, recall (%)": "With the shipped MNIST classifier: the digits present "
                                              "among 500 samples, and k-NN precision (samples that "
                                              "look real) and recall (real digits the samples cover).",
    "MNIST score (10 = sure and balanced)": "The Inception score with the MNIST classifier: 10 when "
                                            "every sample is clearly one digit and all ten are equally "
                                            "frequent; 1 for noise or a single digit.",
    "Fréchet distance (classifier features)": "The Fréchet distance between real and generated "
                                              "digits in the classifier's features (log axis; lower "
                                              "is better).",
}

GUIDE_BARS = ("Below the charts, bars count this frame's samples per mode (green: covered, red: "
              "missed), or for images the generated digits per class. Under them, the rewind "
              "timeline: drag it (or Ctrl+Left / Ctrl+Right) to go back to a kept training state "
              "(every train.rewind_every steps, within train.rewind_mb); training pauses and an "
              "orange line marks the step. Branch from here (Ctrl+B, or Play) trains on from it "
              "with the current settings; the old branch stays on the charts, dashed.")

GUIDE_SETUP = ("The setup panel holds every setting, grouped by section, with a preset list on top. "
               "Bold fields are live: they change the running trainer on the next step, while it "
               "trains. The others rebuild the networks or the data: the panel lists them under "
               "\u201cReset to apply\u201d until you press Reset. The live fields are:")

# toolbar entries the actions' own tips do not cover (widgets rather than actions)
GUIDE_TOOLBAR_EXTRA = (
    ("Speed", "Steps per second, from slow motion (1/s, every step drawn) to full speed; drawing "
              "never slows training."),
    ("Stop at step", "Pause automatically at this step (off = never)."),
    ("Layer bar", "The canvas layers, one toggle each (the same as the View menu)."),
    ("Status bar", "Steps still queued after quick Step clicks (counting down as they are done), the "
                   "step, the speed measured where training runs, and the device."),
)

GUIDE_COMPARE = ("View \u2192 Compare recipes trains 2\u20138 recipes side by side on the same data "
                 "and seed (batched when they share an architecture), each with its own canvas and "
                 "figures. Open any of them in the playground to continue it there with its weights.")

GUIDE_LATENT = ("The latent explorer works on a frozen copy of G, refreshed as training goes on, or on "
                "an opened generator. With a 2-D latent drag the point on the z-pad (its cell of the "
                "generator manifold is highlighted on the canvas); wider latents get one slider per "
                "dimension, or along the Jacobian's principal directions (where G(z) changes most). "
                "Interpolate A \u2192 B linearly or spherically; the strip shows 9 frames, click one "
                "to go there. For MNIST the explorer shows G(z) as a large image with the "
                "classifier's label and confidence under it, a digit selector for a conditional "
                "GAN, and a click on a digit of the canvas grid makes it A or B.")

GUIDE_KEYS = (
    ("Space", "play / pause"), ("S", "one step"), ("R", "reset"), ("F1", "this guide"),
    ("Ctrl+S / Ctrl+O", "save / open a session"), ("Ctrl+E", "export the generator"),
    ("Ctrl+L", "load points"), ("Ctrl+Shift+R", "record the canvas"),
)
