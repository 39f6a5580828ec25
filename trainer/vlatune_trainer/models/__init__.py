"""Model families behind one small interface."""
