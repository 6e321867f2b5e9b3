"""A buffer of previously generated images for the discriminator (CycleGAN, Shrivastava et al. 2017).

Showing the discriminator a mix of current and older fakes keeps it from
chasing the generator's latest output.
"""
import random

import torch


class ImagePool:
    """Holds up to `pool_size` generated images; `pool_size == 0` disables the buffer."""

    def __init__(self, pool_size):
        self.pool_size = pool_size
        self.images = []

    def query(self, images):
        """Return a batch of the same shape: each image is either new or swapped for a stored one.

        images: (N, C, H, W) fakes from the generator.  While the pool is filling,
        new images are stored and returned; once full, each new image is with
        probability 1/2 returned as is, otherwise a random stored image is returned
        in its place and the new one is stored instead.
        """
        if self.pool_size == 0:
            return images
        chosen = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.pool_size:
                self.images.append(image)
                chosen.append(image)
            elif random.random() < 0.5:
                slot = random.randrange(self.pool_size)
                chosen.append(self.images[slot].clone())
                self.images[slot] = image
            else:
                chosen.append(image)
        return torch.cat(chosen, 0)
