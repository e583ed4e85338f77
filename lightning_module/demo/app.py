"""The Gradio page: draw or upload a digit, pick a pretrained model, see how it reads the rows.

Element ids (``demo-*``) name what a browser test looks for.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from lightning_module.demo.reader import DigitReader, Reading

INTRO = """# rnn-mnist: a recurrent network reads your digit, row by row
Draw a digit (white or black ink, any size) or upload a PNG/JPEG picture. It is converted
MNIST-style to 28x28 (the conversion `rnn-mnist predict` uses), then read one row per time step.
The bars show what the model would answer if the image ended after each row (its output layer
was trained on the last row only); the heat map shows its hidden state after each row."""


def _outputs(reading: Reading) -> tuple[Any, ...]:
    return reading.message, reading.probabilities, reading.digit, reading.figure


def build_app(reader: DigitReader, default_model: str) -> gr.Blocks:
    """The page, with ``default_model`` selected; every prediction goes through ``reader``."""
    choices = [
        (f"{name}: {card['cell']}-{card['hidden_size']}, {100 * card['test_acc']:.2f}% test", name)
        for name, card in sorted(reader.cards.items())
    ]

    def read(picture: Any, model_name: str) -> tuple[Any, ...]:
        return (*_outputs(reader.read(picture, model_name)), picture)

    def read_sketch(sketch: dict | None, model_name: str) -> tuple[Any, ...]:
        return read((sketch or {}).get("composite"), model_name)

    with gr.Blocks(title="rnn-mnist demo", analytics_enabled=False) as app:
        gr.Markdown(INTRO)
        last_picture = gr.State(None)
        with gr.Row():
            with gr.Column(scale=1):
                model = gr.Dropdown(
                    choices, value=default_model, label="model", elem_id="demo-model"
                )
                with gr.Tab("Draw"):
                    sketch = gr.Sketchpad(
                        type="pil",
                        image_mode="RGBA",
                        canvas_size=(280, 280),
                        brush=gr.Brush(default_size=18, colors=["#000000"], color_mode="fixed"),
                        label="draw a digit (pick the brush on the left first)",
                        elem_id="demo-sketch",
                    )
                with gr.Tab("Upload"):
                    upload = gr.File(
                        label="PNG or JPEG picture", type="filepath", elem_id="demo-upload"
                    )
            with gr.Column(scale=2):
                status = gr.Markdown(
                    reader.read(None, default_model).message, elem_id="demo-status"
                )
                with gr.Row():
                    label = gr.Label(
                        num_top_classes=3, label="final prediction", elem_id="demo-label"
                    )
                    digit = gr.Image(
                        label="what the model sees (28x28)",
                        image_mode="L",
                        interactive=False,
                        elem_id="demo-digit",
                    )
                figure = gr.Image(
                    label="after each row: probabilities and hidden state",
                    show_label=False,  # the figure has its own title
                    image_mode="RGBA",
                    interactive=False,
                    elem_id="demo-readout",
                )
        shown = [status, label, digit, figure, last_picture]
        sketch.change(read_sketch, [sketch, model], shown, trigger_mode="always_last")
        upload.change(read, [upload, model], shown)
        model.change(read, [last_picture, model], shown)
    return app
