"""Stand-ins that the GAN checks pass to a learner's training step."""


class RecordingOptimizer:
    """Stands in for an optimizer: keeps the gradients it is given and changes nothing."""

    def __init__(self):
        self.calls = []

    def apply_gradients(self, grads_and_vars):
        self.calls.append(list(grads_and_vars))

    def apply(self, grads, trainable_variables=None):
        self.calls.append(list(zip(grads, trainable_variables)))
