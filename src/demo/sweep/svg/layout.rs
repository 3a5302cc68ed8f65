//! Where text goes: the box a line of text covers, estimated from its length at the figures'
//! 11 px sans-serif, so labels can be put where no other text or mark is, inside the picture.

/// Average advance of a character at font-size 11 (sans-serif), in px.
pub const CHAR_WIDTH: f64 = 6.2;
/// How far a line of text reaches above and below its baseline.
pub const ASCENT: f64 = 9.0;
pub const DESCENT: f64 = 3.0;

/// An axis-aligned box in px, y growing downwards.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
}

impl Rect {
    /// The square of half-side `half` centred on (x, y).
    pub fn around(x: f64, y: f64, half: f64) -> Rect {
        Rect {
            left: x - half,
            top: y - half,
            right: x + half,
            bottom: y + half,
        }
    }

    /// Shares some area with `other` (touching edges do not count).
    pub fn overlaps(&self, other: &Rect) -> bool {
        self.left < other.right
            && other.left < self.right
            && self.top < other.bottom
            && other.top < self.bottom
    }

    pub fn inside(&self, outer: &Rect) -> bool {
        self.left >= outer.left
            && self.right <= outer.right
            && self.top >= outer.top
            && self.bottom <= outer.bottom
    }

    /// `self` grown by `by` to the left and to the right.
    pub fn widen(&self, by: f64) -> Rect {
        Rect {
            left: self.left - by,
            right: self.right + by,
            ..*self
        }
    }

    /// `self` shrunk by `by` on every side.
    pub fn inset(&self, by: f64) -> Rect {
        Rect {
            left: self.left + by,
            top: self.top + by,
            right: self.right - by,
            bottom: self.bottom - by,
        }
    }
}

/// Which end of a line of text its x names (SVG's `text-anchor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

impl Anchor {
    pub fn key(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        }
    }
}

/// Where a line of text could go: x per its anchor, y its baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spot {
    pub x: f64,
    pub y: f64,
    pub anchor: Anchor,
}

impl Spot {
    pub fn new(x: f64, y: f64, anchor: Anchor) -> Self {
        Spot { x, y, anchor }
    }

    /// The box `text` covers here.
    pub fn box_of(&self, text: &str) -> Rect {
        let width = text_width(text);
        let left = match self.anchor {
            Anchor::Start => self.x,
            Anchor::Middle => self.x - width / 2.0,
            Anchor::End => self.x - width,
        };
        Rect {
            left,
            top: self.y - ASCENT,
            right: left + width,
            bottom: self.y + DESCENT,
        }
    }
}

pub fn text_width(text: &str) -> f64 {
    text.chars().count() as f64 * CHAR_WIDTH
}

/// `text`, cut at a character and ended with `…` where it is wider than `width`.
pub fn fit(text: &str, width: f64) -> String {
    let room = (width / CHAR_WIDTH).floor().max(1.0) as usize;
    match text.chars().count() <= room {
        true => text.to_string(),
        false => text.chars().take(room - 1).chain(['…']).collect(),
    }
}

/// The spots a mark's label tries, nearest first: right of the mark, left, above, below, then
/// right and left ever further up and down. `reach` is the mark's half size.
pub fn spots_around(x: f64, y: f64, reach: f64) -> Vec<Spot> {
    let gap = reach + 3.0;
    let centred = (ASCENT - DESCENT) / 2.0;
    let mut spots = vec![
        Spot::new(x + gap, y + centred, Anchor::Start),
        Spot::new(x - gap, y + centred, Anchor::End),
        Spot::new(x, y - gap - DESCENT, Anchor::Middle),
        Spot::new(x, y + gap + ASCENT, Anchor::Middle),
    ];
    for step in 1..=16 {
        for sign in [-1.0, 1.0] {
            let dy = sign * step as f64 * (ASCENT + DESCENT + 1.0);
            spots.push(Spot::new(x + gap, y + centred + dy, Anchor::Start));
            spots.push(Spot::new(x - gap, y + centred + dy, Anchor::End));
        }
    }
    spots
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes_follow_the_anchor_and_labels_fit() {
        let b = Spot::new(100.0, 50.0, Anchor::End).box_of("abcde");
        assert_eq!(
            (b.left, b.right, b.top, b.bottom),
            (69.0, 100.0, 41.0, 53.0)
        );
        let m = Spot::new(100.0, 50.0, Anchor::Middle).box_of("ab");
        assert!((m.left - 93.8).abs() < 1e-9 && (m.right - 106.2).abs() < 1e-9);
        assert!(b.overlaps(&m) && !b.overlaps(&Rect::around(200.0, 50.0, 5.0)));
        assert!(Rect::around(0.0, 0.0, 1.0).inside(&Rect::around(0.0, 0.0, 2.0)));
        assert!(!Rect::around(0.0, 0.0, 3.0).inside(&Rect::around(0.0, 0.0, 2.0)));
        assert_eq!(text_width("λ − ‖"), 5.0 * CHAR_WIDTH);
        assert_eq!(fit("successors", 6.0 * CHAR_WIDTH), "succe…");
        assert_eq!(fit("sorting", 100.0), "sorting");
        // The first spot sits beside the mark, clear of it.
        let first = spots_around(50.0, 50.0, 5.0)[0].box_of("x");
        assert!(!first.overlaps(&Rect::around(50.0, 50.0, 5.0)));
    }
}
