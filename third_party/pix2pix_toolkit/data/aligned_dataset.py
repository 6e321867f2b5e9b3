"""Paired images stored side by side: each file in `<dataroot>/<phase>/` holds A | B."""
import os

from data.base_dataset import BaseDataset, get_params, get_transform
from data.image_folder import load_rgb, make_dataset
from util.errors import UserError


class AlignedDataset(BaseDataset):
    """Splits each image down the middle: left half A, right half B.

    Both halves get the same resize/crop/flip (one get_params draw per sample),
    so the pair stays pixel-aligned.  Returns {'A', 'B', 'A_paths', 'B_paths'}
    with A (input_nc, H, W) and B (output_nc, H, W) in [-1, 1]; with
    --direction BtoA the channel counts are swapped since the model reads B as input.
    """

    def __init__(self, opt):
        BaseDataset.__init__(self, opt)
        self.dir_AB = os.path.join(opt.dataroot, opt.phase)
        self.AB_paths = sorted(make_dataset(self.dir_AB, opt.max_dataset_size))
        if not self.AB_paths:
            raise UserError(f"no images in {self.dir_AB}; --dataroot must hold a '{opt.phase}' folder "
                            f"of A|B side-by-side images.")
        if opt.load_size < opt.crop_size:
            raise UserError(f"--load_size {opt.load_size} is smaller than --crop_size {opt.crop_size}; "
                            f"pass a --load_size of at least {opt.crop_size}.")
        self.input_nc = opt.output_nc if opt.direction == "BtoA" else opt.input_nc
        self.output_nc = opt.input_nc if opt.direction == "BtoA" else opt.output_nc

    def __getitem__(self, index):
        AB_path = self.AB_paths[index]
        AB = load_rgb(AB_path)
        w, h = AB.size
        half = w // 2
        A = AB.crop((0, 0, half, h))
        B = AB.crop((half, 0, w, h))
        params = get_params(self.opt, A.size)
        A = get_transform(self.opt, params, grayscale=(self.input_nc == 1))(A)
        B = get_transform(self.opt, params, grayscale=(self.output_nc == 1))(B)
        return {"A": A, "B": B, "A_paths": AB_path, "B_paths": AB_path}

    def __len__(self):
        return len(self.AB_paths)
