"""Deepfake media fingerprints: PDQ hashing of images and exact Hamming-radius search over known hashes."""
