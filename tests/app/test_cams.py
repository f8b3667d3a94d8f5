"""The CAM legend's caption says in numbers what the one shared colour scale means (issue 11 §5)."""
from app.components.cams import legend_caption


def test_caption_names_the_shared_scale_and_zero():
    assert legend_caption((-2.7, 9.9)) == ("CAM colour scale, one for all four panels: -2.7 (left) … 9.9 (right); "
                                           "the white line is 0 (left of it: evidence against the class)")
    assert legend_caption((-3.0, -0.48)).endswith("every value is negative: evidence against both classes")
    assert legend_caption((0.1, 2.0)) == "CAM colour scale, one for all four panels: 0.1 (left) … 2 (right)"
    assert legend_caption(None) == "CAM colour scale, low → high"
