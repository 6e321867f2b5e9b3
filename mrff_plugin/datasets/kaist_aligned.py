"""`--dataset_mode kaist_aligned`: aligned visible (A) / LWIR (B) pairs read straight from KAIST.

The host finds this class as `data.kaist_aligned_dataset.KaistAlignedDataset`
(`mrff_plugin.register()` places this module under that name). It subclasses
the host's own `BaseDataset` and uses the host's `get_params` / `get_transform`,
so `--preprocess`, `--load_size`, `--crop_size` and `--no_flip` mean what they
mean for the host's `aligned` dataset; the same crop and flip go to both images.

Which pairs: `pairs_layout.list_pairs` (`--pairs_layout auto|kaist|llvip|flir|flat|folders`:
a KAIST tree, LLVIP, the aligned FLIR ADAS release, a flat `<phase>/{visible,lwir}`, or two
folders of same-named images -- RoadScene, MSRS, M3FD, or any two named with
`--pairs_visible`/`--pairs_infrared` -- detected by itself and reported in one line; KAIST
defaults are the paper's day sets, train 00-02 / test 06-08), then the first
`--max_dataset_size` of them.

Framing: the host's `--preprocess` modes, plus two for real, non-square images
(`framing.py`): `scale_shortside_and_crop` for training (short side to
`--load_size`, random `--crop_size` square) and `pad` for testing (each image whole,
reflection-padded to a multiple of `--pad_multiple`, default: what `--netG` needs).

Each item (tensors in [-1, 1]):
  A        (C_A, H, W)  visible image
  B        (C_B, H, W)  LWIR image
  A_paths, B_paths      the two files
  pair_id               e.g. 'set06/V000/I00000': unique, unlike the file names (KAIST
                        restarts frame numbers in every video) -- for naming results
  unpadded_size         tensor (H, W): the picture in A and B; with `--preprocess pad` the rest
                        (bottom, right) is padding, which `--model mrff_pix2pix` crops off its results
C is 1 (grey, Pillow luma) or 3 (RGB; LWIR as grey-as-RGB, as KAIST stores it):
with `--direction AtoB` C_A = input_nc and C_B = output_nc; with `BtoA` the
host's model feeds B to the generator, so C_B = input_nc and C_A = output_nc.

LWIR at full depth (`lwir_values.py`, docs/radiometric.md): `--lwir_range LOW HIGH | auto` reads 16-bit
counts, float temperature TIFFs and FLIR radiometric JPEGs as float32 and maps them linearly to [-1, 1]
(B is then framed as a float image and never rounded to 8 bits); the map is saved in the run folder.

`--skip_bad_images` reads every selected file once at start-up and leaves out
the pairs with an unreadable (truncated, corrupt, empty) file, printing how many.

Sizes the generator cannot take are refused at start-up, in one sentence: under `none` and
`scale_width` the images' own sizes (each pair as it is read; the first one before training,
`framing.check_first_item`), a `--pad_multiple` that is no multiple of what `--netG` needs, and `pad` with
`--batch_size` above 1 on images of several padded sizes (read from the file headers).

Errors a user can fix (layout, selection, unreadable file, size mismatch) are
`KaistDatasetError`: a `KaistLayoutError` and, where the host has one (the
bundled host's `util.errors.UserError`), the host's own user-error type, so its
scripts print the one sentence instead of a traceback.
"""
import copy
import os

import torch
from PIL import Image
from data.base_dataset import BaseDataset, get_params, get_transform   # the host's, on sys.path

from ..errors import MrffError, in_host_family
from ..file_names import name_limit
from ..visual_names import ATTENTION_NAMES, BRANCH_NAMES
from .framing import (HOST_MULTIPLES, MODES, PAD, SHORTSIDE, frame_shortside, generator_multiple, own_size_problem,
                      pad_to_multiple, padded_size, shortside_params)
from .images import UnreadableImageError, load_image, shown_size
from .kaist_layout import TIMES
from .listing import KaistLayoutError, shared_file_names
from .lwir_values import add_option as add_lwir_range_option, load_values, run_range, values_to_tensor
from .option_alias import AliasedOption
from .pairs_layout import LAYOUTS, list_pairs

# A KAIST layout/selection/file problem, in the host's user-error family when it has one (made at import,
# in the main process, so data-loader workers can send it back by name).
KaistDatasetError = in_host_family(KaistLayoutError)
# The longest label of the host's result files, `<file stem>_<label>.png` (pix2pix: real_A, fake_B, real_B).
HOST_RESULT_LABEL = "real_A"


def _mode(channels, flag):
    if channels not in (1, 3):
        raise KaistDatasetError(f"--{flag} {channels}: kaist_aligned gives 1 (grey) or 3 (RGB) channel images.")
    return "L" if channels == 1 else "RGB"


class KaistAlignedDataset(BaseDataset):
    """Visible/LWIR pairs of a KAIST tree (or flat folder pair), cropped and flipped together."""

    @staticmethod
    def modify_commandline_options(parser, is_train):
        parser.add_argument("--pairs_layout", default="auto", choices=LAYOUTS,
                            help="layout of --dataroot: KAIST (images/setNN/V00M/{visible,lwir}), LLVIP "
                                 "({visible,infrared}/{train,test}), FLIR aligned (JPEGImages/FLIR_NNNNN_RGB.jpg "
                                 "+ _PreviewData.jpeg, align_train/validation.txt), flat "
                                 "(<phase>/{visible,lwir}), folders (two folders of same-named images: "
                                 "RoadScene crop_LR_visible + cropinfrared, MSRS vi + ir, M3FD Vis + Ir, or "
                                 "--pairs_visible/--pairs_infrared); auto detects it")
        parser.add_argument("--pairs_visible", default=None,
                            help="folders layout: the visible folder's name, in <dataroot>/<phase>/ or "
                                 "<dataroot>/ (e.g. vi); give --pairs_infrared too")
        parser.add_argument("--pairs_infrared", default=None,
                            help="folders layout: the infrared folder's name (e.g. ir); files pair up by stem")
        parser.add_argument("--pad_multiple", type=int, default=0,
                            help="--preprocess pad: pad each image to sides that are multiples of this "
                                 "(0: what --netG needs, 32 for unetpp_fusion, 256 for unet_256)")
        preprocess = parser._option_string_actions.get("--preprocess")
        if preprocess is not None and SHORTSIDE not in (preprocess.help or ""):
            preprocess.help = (f"{preprocess.help or ''} (kaist_aligned also: {SHORTSIDE}, short side to "
                               f"--load_size then a random --crop_size square; {PAD}, whole images padded "
                               f"to --pad_multiple, for test.py)")
        parser.add_argument("--kaist_sets", default=None,
                            help="KAIST sets to read, e.g. 'set00,set01', '0-2', 'set06-set08' "
                                 "(default: the paper's for the phase and --kaist_time: "
                                 "train day 00-02, test day 06-08, night 03-05 / 09-11)")
        parser.add_argument("--kaist_time", default="day", choices=TIMES,
                            help="time of day of the default sets (ignored with --kaist_sets)")
        parser.add_argument("--frame_stride", "--kaist_stride", dest="kaist_stride", type=int, default=1,
                            action=AliasedOption, metavar="N",
                            help="keep every N-th frame of each video (KAIST is 20 fps; neighbours are "
                                 "near duplicates); --kaist_stride is an alias")
        parser.add_argument("--pairs_list", "--kaist_list", dest="kaist_list", default=None,
                            action=AliasedOption, metavar="FILE",
                            help="text file of pair ids (set00/V000/I01225, FLIR_00006, one per line) that "
                                 "alone decides the pairs, to reproduce a published split (any layout; for FLIR "
                                 "it replaces align_train/validation.txt); --kaist_list is an alias")
        parser.add_argument("--skip_bad_images", action="store_true",
                            help="read every selected image once at start-up and leave out the pairs with a "
                                 "truncated or corrupt file (printing how many) instead of stopping at the first")
        add_lwir_range_option(parser)   # radiometric LWIR at full depth (lwir_values.py)
        return parser

    def __init__(self, opt):
        BaseDataset.__init__(self, opt)
        scaled = "resize" in opt.preprocess or opt.preprocess == SHORTSIDE
        if scaled and "crop" in opt.preprocess and opt.load_size < opt.crop_size:
            raise KaistDatasetError(f"--load_size {opt.load_size} is smaller than --crop_size {opt.crop_size}; "
                                    f"pass a --load_size of at least {opt.crop_size}.")
        try:
            selection = list_pairs(opt.dataroot, opt.phase, sets=opt.kaist_sets, time=opt.kaist_time,
                                   stride=opt.kaist_stride, list_file=opt.kaist_list,
                                   layout=getattr(opt, "pairs_layout", "auto"),
                                   folders=(getattr(opt, "pairs_visible", None), getattr(opt, "pairs_infrared", None)))
        except KaistLayoutError as exc:
            raise KaistDatasetError(str(exc)) from None
        print(f"kaist_aligned: {selection.summary}")
        for note in selection.notes:
            print(note)
        self.pairs = selection.pairs[:int(min(len(selection.pairs), opt.max_dataset_size))]
        if getattr(opt, "skip_bad_images", False):
            self.pairs = self._readable_pairs(self.pairs)
        if not opt.isTrain:
            self._warn_shared_file_names()
            self._check_result_names(opt)
        btoa = opt.direction == "BtoA"
        self.visible_nc = opt.output_nc if btoa else opt.input_nc
        self.lwir_nc = opt.input_nc if btoa else opt.output_nc
        self.visible_mode = _mode(self.visible_nc, "output_nc" if btoa else "input_nc")
        self.lwir_mode = _mode(self.lwir_nc, "input_nc" if btoa else "output_nc")
        try:   # None: 8-bit pictures; else the LwirRange mapping float values to [-1, 1] (lwir_values.py)
            self.lwir_range = run_range(opt, [pair.lwir for pair in self.pairs])
        except MrffError as exc:
            raise KaistDatasetError(str(exc)) from None
        self._init_framing(opt)

    def _init_framing(self, opt):
        """For the `framing` modes: the multiple `pad` pads to, and the options the host's get_transform
        sees after the framing is done (no resize or crop: only flip, tensor, normalisation)."""
        self.framing = opt.preprocess if opt.preprocess in MODES else None
        self.multiple = generator_multiple(getattr(opt, "netG", ""), getattr(opt, "pad_multiple", 0))
        if self.multiple < 1 or self.multiple & (self.multiple - 1):
            raise KaistDatasetError(f"--pad_multiple {self.multiple} is not a power of two; pass e.g. 32, or 0 "
                                    f"for what --netG needs.")
        netG = getattr(opt, "netG", None)
        self.needed = generator_multiple(str(netG)) if netG is not None else None   # input sides --netG needs
        if self.framing == PAD and self.needed and self.multiple % self.needed:
            raise KaistDatasetError(f"--pad_multiple {self.multiple} pads images to multiples of {self.multiple}, "
                                    f"and --netG {netG} needs multiples of {self.needed}; pass --pad_multiple "
                                    f"{self.needed} (or a multiple of it), or 0 for what --netG needs.")
        if self.framing == PAD and getattr(opt, "batch_size", 1) > 1:
            self._check_one_padded_size()
        self.framed_opt = copy.copy(opt)
        self.framed_opt.preprocess = ""
        if self.framing == PAD and getattr(opt, "model", None) != "mrff_pix2pix":
            print(f"kaist_aligned --preprocess pad: images are padded to multiples of {self.multiple}; --model "
                  f"{getattr(opt, 'model', '?')} shows them padded, --model mrff_pix2pix crops its results back "
                  f"to each image's size.")

    def _check_one_padded_size(self):
        """KaistDatasetError when --preprocess pad gives the pairs more than one size (read from the file headers):
        a batch of them cannot be stacked."""
        sizes = set()
        for pair in self.pairs:
            try:
                with Image.open(pair.visible) as image:
                    sizes.add(padded_size(shown_size(image), self.multiple))
            except OSError:   # unreadable: reported when the pair is read
                continue
        if len(sizes) > 1:
            shown = ", ".join(f"{w}x{h}" for w, h in sorted(sizes)[:3]) + (", ..." if len(sizes) > 3 else "")
            raise KaistDatasetError(f"--preprocess pad keeps each image whole, and these images are padded to "
                                    f"{len(sizes)} sizes ({shown}), which cannot share a batch; pass --batch_size 1, "
                                    f"or --preprocess {SHORTSIDE}.")

    @staticmethod
    def _readable_pairs(pairs):
        """The pairs whose two files both decode; prints the count left out and the first bad file."""
        kept, bad = [], []
        for pair in pairs:
            try:
                for path in (pair.visible, pair.lwir):
                    load_image(path, "RGB")
                kept.append(pair)
            except UnreadableImageError as exc:
                bad.append(str(exc))
        if bad:
            print(f"--skip_bad_images: left out {len(bad)} of {len(pairs)} pairs with an unreadable file "
                  f"(first: {bad[0]})")
        if not kept:
            raise KaistDatasetError(f"--skip_bad_images left no pairs: all {len(pairs)} selected pairs have an "
                                    f"unreadable file (first: {bad[0]}).")
        return kept

    def _warn_shared_file_names(self):
        count, example = shared_file_names(self.pairs)
        if count:
            print(f"warning: {count} of {len(self.pairs)} selected pairs share their file name with a pair of "
                  f"another video (e.g. {example}); a test.py that names result images by file name alone "
                  f"overwrites them (the bundled host names them by 'pair_id' then), so with another host "
                  f"select one video per name with --pairs_list.")

    def _check_result_names(self, opt):
        """KaistDatasetError when test.py would name a pair's result files `<file stem>_<label>.png` with more
        bytes than a file name may have in --results_dir: it would stop with a traceback part-way through."""
        labels = [HOST_RESULT_LABEL]
        if getattr(opt, "model", None) == "mrff_pix2pix" and getattr(opt, "netG", None) not in HOST_MULTIPLES:
            labels += ATTENTION_NAMES + BRANCH_NAMES   # the fusion generator's maps go into the results too
        label = max(labels, key=len)
        results_dir = getattr(opt, "results_dir", "./results/")
        limit = name_limit(results_dir)
        fed = [pair.lwir if opt.direction == "BtoA" else pair.visible for pair in self.pairs]   # the host's image_paths
        names = [f"{os.path.splitext(os.path.basename(path))[0]}_{label}.png" for path in fed]
        too_long = [(path, name) for path, name in zip(fed, names) if len(os.fsencode(name)) > limit]
        if too_long:
            path, name = too_long[0]
            count = len(too_long)
            raise KaistDatasetError(f"{path}: test.py would save its results as {name}, {len(os.fsencode(name))} "
                                    f"bytes, more than the {limit} a file name may have in {results_dir}; shorten "
                                    f"the file's name ({count} pair{'s' if count > 1 else ''} affected).")

    def __len__(self):
        return len(self.pairs)

    def _load(self, pair, path, mode):
        try:
            return load_values(path) if mode == "F" else load_image(path, mode)
        except MrffError as exc:
            raise KaistDatasetError(f"{exc}; 1 pair affected ({pair.pair_id}): replace the file, or leave "
                                    f"the pair out with --pairs_list or --skip_bad_images.") from None

    def __getitem__(self, index):
        pair = self.pairs[index]
        visible = self._load(pair, pair.visible, self.visible_mode)
        lwir = self._load(pair, pair.lwir, self.lwir_mode if self.lwir_range is None else "F")
        if visible.size != lwir.size:
            raise KaistDatasetError(
                f"pair {pair.pair_id}: {pair.visible} is {visible.size[0]}x{visible.size[1]} but {pair.lwir} is "
                f"{lwir.size[0]}x{lwir.size[1]}; aligned pairs must have the same size (1 pair affected).")
        opt, (width, height) = self.opt, visible.size
        if self.framing == SHORTSIDE:   # one scale, crop and flip for both images, then the host's flip/tensor
            params = shortside_params(visible.size, opt.load_size, opt.crop_size, flip=not opt.no_flip)
            visible, lwir = (frame_shortside(image, params, opt.crop_size) for image in (visible, lwir))
            opt = self.framed_opt
        elif self.framing == PAD:       # never flipped: the padding stays at the bottom and right
            params = {"crop_pos": (0, 0), "flip": False}
            visible, lwir = (pad_to_multiple(image, self.multiple) for image in (visible, lwir))
            opt = self.framed_opt
        else:
            params = get_params(opt, visible.size)   # one crop position and flip for both images
        A = get_transform(opt, params, grayscale=self.visible_nc == 1)(visible)   # (C_A, H, W)
        if self.lwir_range is None:
            B = get_transform(opt, params, grayscale=self.lwir_nc == 1)(lwir)     # (C_B, H, W)
        else:   # float values framed as the visible image, then mapped at full depth
            B = values_to_tensor(get_transform(opt, params, convert=False)(lwir), self.lwir_range, self.lwir_nc)
        problem = own_size_problem(self.opt, *A.shape[-2:], f"the images of pair {pair.pair_id}")
        if problem:   # --preprocess none / scale_width: the images' own sizes
            raise KaistDatasetError(problem)
        unpadded = (height, width) if self.framing == PAD else tuple(A.shape[-2:])
        return {"A": A, "B": B, "A_paths": pair.visible, "B_paths": pair.lwir, "pair_id": pair.pair_id,
                "unpadded_size": torch.tensor(unpadded)}
