"""What both trainers share: the training state a checkpoint holds, the one resume rule, the lr schedule."""
