//! Bar charts drawn on the server as SVG. The template writes the elements (so every label is
//! escaped like any other text); this computes their geometry. Every chart is shown beside a
//! table of the same numbers.

/// One horizontal bar.
pub struct Bar {
    pub label: String,
    /// The value as written at the bar's end.
    pub value_text: String,
    pub y: u32,
    pub width: u32,
    pub text_x: u32,
    pub text_y: u32,
}

/// A horizontal bar chart of values from 0 to `max`.
pub struct BarChart {
    pub title: String,
    pub bars: Vec<Bar>,
    pub width: u32,
    pub height: u32,
    /// Where labels end (they are right-aligned) and where the bars start.
    pub label_x: u32,
    pub area_x: u32,
}

const WIDTH: u32 = 640;
const LABEL: u32 = 200;
const AREA: u32 = 360;
const ROW: u32 = 26;

impl BarChart {
    /// Bars for `(label, value, value_text)`, scaled so that `max` fills the drawing area.
    pub fn new(title: impl Into<String>, max: f64, rows: Vec<(String, f64, String)>) -> Self {
        let bars = rows
            .into_iter()
            .enumerate()
            .map(|(i, (label, value, value_text))| {
                let share = if max > 0.0 {
                    (value / max).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let width = (share * f64::from(AREA)).round() as u32;
                let y = 10 + ROW * i as u32;
                Bar {
                    label,
                    value_text,
                    y,
                    width,
                    text_x: LABEL + width + 6,
                    text_y: y + 15,
                }
            })
            .collect::<Vec<_>>();
        let height = 20 + ROW * bars.len().max(1) as u32;
        BarChart {
            title: title.into(),
            bars,
            width: WIDTH,
            height,
            label_x: LABEL - 6,
            area_x: LABEL,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_maximum_and_never_overflow() {
        let chart = BarChart::new(
            "t",
            100.0,
            vec![
                ("a".into(), 50.0, "50%".into()),
                ("b".into(), 100.0, "100%".into()),
                ("c".into(), 150.0, "150%".into()),
            ],
        );
        let widths: Vec<u32> = chart.bars.iter().map(|b| b.width).collect();
        assert_eq!(widths, vec![AREA / 2, AREA, AREA]);
        assert_eq!(chart.bars[1].y, 10 + ROW);
    }
}
