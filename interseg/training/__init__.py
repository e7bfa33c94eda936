"""Training: recipes, augmentation, interaction sampling, losses, schedules and the trainer."""
