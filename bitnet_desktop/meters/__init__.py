"""What the machine is doing: process memory and the model's share, CPU use, energy (measured or a labelled estimate). No Qt."""
