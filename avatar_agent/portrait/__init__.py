"""Portrait enrollment: image loading, face landmarks, the avatar bundle."""
