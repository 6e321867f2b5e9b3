"""A static HTML gallery (built with dominate): a header per step, a table row of images.

Used for the training page `<checkpoints>/<name>/web/index.html` and for the test
gallery `<results>/<name>/<phase>_<epoch>/index.html`; the images live in the
page's `images/` folder and are referenced by relative, URL-quoted paths.
"""
import os
from urllib.parse import quote

import dominate
from dominate.tags import a, br, h3, img, meta, p, table, td, tr

from .util import mkdirs


class HTML:
    """An HTML page in `web_dir` with its images in `web_dir/images`."""

    def __init__(self, web_dir, title, refresh=0):
        """refresh > 0 makes the browser reload the page every `refresh` seconds."""
        self.web_dir = web_dir
        self.title = title
        self.img_dir = os.path.join(web_dir, "images")
        mkdirs([self.web_dir, self.img_dir])
        self.doc = dominate.document(title=title)
        if refresh > 0:
            with self.doc.head:
                meta(http_equiv="refresh", content=str(refresh))

    def get_image_dir(self):
        """Folder the page's images are written to."""
        return self.img_dir

    def add_header(self, text):
        """Add a heading (dominate escapes the text)."""
        with self.doc:
            h3(text)

    def add_images(self, ims, txts, links, width=400):
        """Add one table row: image file names `ims` (inside images/), captions, link targets."""
        row_table = table(border=1, style="table-layout: fixed;")
        self.doc.add(row_table)
        with row_table:
            with tr():
                for im, txt, link in zip(ims, txts, links):
                    with td(style="word-wrap: break-word;", halign="center", valign="top"):
                        with p():
                            with a(href=quote(f"images/{link}")):
                                img(style=f"width:{int(width)}px", src=quote(f"images/{im}"))
                            br()
                            p(txt)

    def save(self):
        """Write `index.html` (replaced whole, never left half-written)."""
        path = os.path.join(self.web_dir, "index.html")
        tmp_path = path + ".tmp"
        with open(tmp_path, "wt", encoding="utf-8") as handle:
            handle.write(self.doc.render())
        os.replace(tmp_path, path)
