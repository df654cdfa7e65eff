"""pandera contracts at every boundary: what a source file must hold before it reaches raw."""
