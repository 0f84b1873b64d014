"""MNIST: a smoke test of the whole network. The graded run trains for several epochs on
8,000 digits and scores the test accuracy; this only checks that learning happens."""
import numpy as np

from numpynn import Adam, CrossEntropyLoss
from numpynn.data import load_mnist, to_float
from numpynn.models import mnist_cnn
from numpynn.train import evaluate, fit


def first_digits(count):
    data = load_mnist()
    return to_float(data.train_images[:count]), data.train_labels[:count]


def test_forward_and_backward_shapes():
    model = mnist_cnn(seed=0).to(np.float32)
    images, labels = first_digits(8)
    logits = model(images)
    assert logits.shape == (8, 10) and logits.dtype == np.float32
    loss = CrossEntropyLoss()
    loss(logits, labels)
    grad_images = model.backward(loss.backward())
    assert grad_images.shape == images.shape and grad_images.dtype == np.float32
    assert all(np.any(p.grad != 0) for p in model.parameters()), "some parameter got no gradient"


def test_a_few_adam_steps_lower_the_loss():
    model = mnist_cnn(seed=0).to(np.float32)
    images, labels = first_digits(32)
    loss, opt = CrossEntropyLoss(), Adam(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(6):
        opt.zero_grad()
        losses.append(loss(model(images), labels))
        model.backward(loss.backward())
        opt.step()
    assert losses[-1] < 0.7 * losses[0], f"the loss on one batch went {losses[0]:.3f} -> {losses[-1]:.3f}"


def test_fit_and_evaluate_run():
    model = mnist_cnn(seed=0).to(np.float32)
    images, labels = first_digits(128)
    history = fit(model, images, labels, epochs=1, batch_size=32, progress=False)
    assert len(history["step_loss"]) == 4 and np.all(np.isfinite(history["step_loss"]))
    accuracy = evaluate(model, images, labels)
    assert 0.0 <= accuracy <= 1.0
