"""The data set's shapes, in one place: every module that needs a size imports it from here.

A leaf (it imports nothing), so that ``data`` and ``model``, which import nothing else of ours, can use it.
"""

IMAGE_SIDE = 28  # Fashion-MNIST images are 28 x 28 grey levels
NUM_FEATURES = IMAGE_SIDE * IMAGE_SIDE  # 784 inputs once flattened
NUM_CLASSES = 10  # the model's outputs: one score per class
TRAIN_SET_SIZE = 60_000
TEST_SET_SIZE = 10_000
VALIDATION_SIZE = TRAIN_SET_SIZE // 6  # 10,000 training images held out when a run asks for a validation split
VALIDATION_SEED = 20_211_006  # fixed: every run holds out the same images
