"""The annotation demo: a headless controller and the Tk view over it."""
