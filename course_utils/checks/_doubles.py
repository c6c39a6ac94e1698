"""Stand-ins that the GAN checks pass to a learner's training step."""

import keras
import tensorflow as tf


class RecordingOptimizer:
    """Stands in for an optimizer: keeps the gradients it is given and changes nothing."""

    def __init__(self):
        self.calls = []

    def apply_gradients(self, grads_and_vars):
        self.calls.append(list(grads_and_vars))

    def apply(self, grads, trainable_variables=None):
        self.calls.append(list(zip(grads, trainable_variables)))


class ConstantImage(keras.layers.Layer):
    """A 'generator' that ignores its noise and draws one learnable image, so that its
    gradients do not depend on the noise a train step draws."""

    def __init__(self, image, **kwargs):
        super().__init__(**kwargs)
        self.image = self.add_weight(shape=image.shape, initializer=keras.initializers.Constant(image),
                                     name="image")

    def call(self, z):
        return tf.zeros_like(z[:, :1])[:, :, None, None] + self.image[None]
