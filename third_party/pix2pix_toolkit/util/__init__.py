"""Helpers shared by the scripts, models and datasets: images, HTML pages, Visdom, processes."""
