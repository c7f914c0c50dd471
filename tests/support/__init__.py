"""Test helpers shared across the suite: fixture plugins, the core harness, fake-platform rigs."""
