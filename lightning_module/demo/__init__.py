"""``rnn-mnist demo``: a local web page where a pretrained model reads a drawn or uploaded digit.

``reader`` holds the logic (no Gradio needed, so it is tested directly), ``app`` the Gradio page
and ``cli`` the command's options.
"""
