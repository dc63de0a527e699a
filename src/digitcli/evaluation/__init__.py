"""Measuring a model (TensorFlow-free): metrics, labelled folders of real
images read through predict's own pipeline, and report pictures.

metrics.py   accuracy, per-digit scores, confusion, calibration; MNIST test set
labelled.py  manifests and labelled folders; scoring them per kind
tables.py    the Rich tables evaluate prints
report.py    confusion.png and mistakes.png
"""
