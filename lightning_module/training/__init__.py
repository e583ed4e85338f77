"""What the CLI wires into the Trainer: guards, checkpoint IO, run folders, the prediction writer,
TensorBoard.

Callbacks and IO only; the model and the network do not import from here except for logging.
"""
