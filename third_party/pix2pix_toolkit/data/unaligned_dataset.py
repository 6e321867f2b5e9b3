"""Two unpaired image sets, `<dataroot>/<phase>A` and `<dataroot>/<phase>B` (CycleGAN)."""
import os
import random

from data.base_dataset import BaseDataset, get_transform
from data.image_folder import load_rgb, make_dataset
from util.errors import UserError


class UnalignedDataset(BaseDataset):
    """Draws A in order and B at random (or in order with --serial_batches).

    Returns {'A', 'B', 'A_paths', 'B_paths'}, tensors (C, H, W) in [-1, 1]; the
    dataset length is the larger of the two sets.
    """

    def __init__(self, opt):
        BaseDataset.__init__(self, opt)
        self.dir_A = os.path.join(opt.dataroot, opt.phase + "A")
        self.dir_B = os.path.join(opt.dataroot, opt.phase + "B")
        self.A_paths = sorted(make_dataset(self.dir_A, opt.max_dataset_size))
        self.B_paths = sorted(make_dataset(self.dir_B, opt.max_dataset_size))
        for folder, paths in ((self.dir_A, self.A_paths), (self.dir_B, self.B_paths)):
            if not paths:
                raise UserError(f"no images in {folder}; --dataroot must hold '{opt.phase}A' and "
                                f"'{opt.phase}B' folders of images.")
        self.A_size = len(self.A_paths)
        self.B_size = len(self.B_paths)
        btoA = opt.direction == "BtoA"
        input_nc = opt.output_nc if btoA else opt.input_nc
        output_nc = opt.input_nc if btoA else opt.output_nc
        self.transform_A = get_transform(opt, grayscale=(input_nc == 1))
        self.transform_B = get_transform(opt, grayscale=(output_nc == 1))

    def __getitem__(self, index):
        A_path = self.A_paths[index % self.A_size]
        if self.opt.serial_batches:
            index_B = index % self.B_size
        else:
            index_B = random.randint(0, self.B_size - 1)  # avoid fixed pairs
        B_path = self.B_paths[index_B]
        A = self.transform_A(load_rgb(A_path))
        B = self.transform_B(load_rgb(B_path))
        return {"A": A, "B": B, "A_paths": A_path, "B_paths": B_path}

    def __len__(self):
        return max(self.A_size, self.B_size)
