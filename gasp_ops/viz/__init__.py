"""Pictures people look at: contact sheets, shading for previews."""
