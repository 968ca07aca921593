//! Minimal SVG line charts for the run folder (no font or image libraries needed).

use std::fmt::Write as _;

/// One line of a chart.
pub struct Series<'a> {
    /// Legend label.
    pub label: &'a str,
    /// CSS colour.
    pub color: &'a str,
    /// `(x, y)` points; `NaN` y values break the line.
    pub points: Vec<(f64, f64)>,
    /// Draw dashed.
    pub dashed: bool,
}

fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        return vec![lo];
    }
    let raw = (hi - lo) / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(raw);
    let start = (lo / step).ceil() * step;
    (0..=n * 2).map(|i| start + i as f64 * step).take_while(|v| *v <= hi + 1e-9 * step).collect()
}

/// Default tick label: integers as integers, other values with up to four decimals.
pub fn fmt_tick(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.fract() == 0.0 && v.abs() < 1e12 {
        format!("{}", v as i64)
    } else if v.abs() >= 1e6 || v.abs() < 1e-3 {
        format!("{v:.2e}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Render a line chart as an SVG document.
pub fn line_chart(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> String {
    line_chart_with(title, x_label, y_label, series, &fmt_tick)
}

/// Render a line chart whose x tick labels come from `x_fmt` (e.g. row -> time stamp).
pub fn line_chart_with(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    x_fmt: &dyn Fn(f64) -> String,
) -> String {
    let (w, h) = (900.0, 480.0);
    let (ml, mr, mt, mb) = (80.0, 20.0, 40.0, 60.0);
    let pts = series.iter().flat_map(|s| s.points.iter()).filter(|p| p.0.is_finite() && p.1.is_finite());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if !x0.is_finite() {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    if y1 <= y0 {
        y1 = y0 + 1.0;
    }
    let pad = (y1 - y0) * 0.05;
    let (y0, y1) = (y0 - pad, y1 + pad);
    let sx = |x: f64| ml + (x - x0) / (x1 - x0) * (w - ml - mr);
    let sy = |y: f64| h - mb - (y - y0) / (y1 - y0) * (h - mt - mb);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(s, r#"<text x="{}" y="22" text-anchor="middle" font-size="15">{}</text>"#, w / 2.0, esc(title));
    for t in nice_ticks(y0, y1, 6) {
        let y = sy(t);
        let _ = writeln!(s, r##"<line x1="{ml}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#e5e5e5"/>"##, w - mr);
        let _ = writeln!(s, r#"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"#, ml - 6.0, y + 4.0, fmt_tick(t));
    }
    for t in nice_ticks(x0, x1, 6) {
        let x = sx(t);
        let _ = writeln!(s, r##"<line x1="{x:.1}" x2="{x:.1}" y1="{mt}" y2="{}" stroke="#f0f0f0"/>"##, h - mb);
        let _ = writeln!(s, r#"<text x="{x:.1}" y="{}" text-anchor="middle">{}</text>"#, h - mb + 18.0, esc(&x_fmt(t)));
    }
    let _ = writeln!(
        s,
        r#"<rect x="{ml}" y="{mt}" width="{}" height="{}" fill="none" stroke="black"/>"#,
        w - ml - mr,
        h - mt - mb
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        ml + (w - ml - mr) / 2.0,
        h - 15.0,
        esc(x_label)
    );
    let _ = writeln!(
        s,
        r#"<text x="18" y="{}" text-anchor="middle" transform="rotate(-90 18 {})">{}</text>"#,
        mt + (h - mt - mb) / 2.0,
        mt + (h - mt - mb) / 2.0,
        esc(y_label)
    );
    for ser in series {
        let mut d = String::new();
        let mut pen_down = false;
        for &(x, y) in &ser.points {
            if !(x.is_finite() && y.is_finite()) {
                pen_down = false;
                continue;
            }
            let _ = write!(d, "{}{:.2},{:.2} ", if pen_down { "L" } else { "M" }, sx(x), sy(y));
            pen_down = true;
        }
        let dash = if ser.dashed { r#" stroke-dasharray="5,3""# } else { "" };
        let _ = writeln!(s, r#"<path d="{d}" fill="none" stroke="{}" stroke-width="1.5"{dash}/>"#, ser.color);
    }
    for (i, ser) in series.iter().enumerate() {
        let y = mt + 14.0 + i as f64 * 16.0;
        let _ = writeln!(
            s,
            r#"<line x1="{}" x2="{}" y1="{y}" y2="{y}" stroke="{}" stroke-width="2"/>"#,
            ml + 10.0,
            ml + 30.0,
            ser.color
        );
        let _ = writeln!(s, r#"<text x="{}" y="{}">{}</text>"#, ml + 36.0, y + 4.0, esc(ser.label));
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_series_and_breaks_on_nan() {
        let svg = line_chart(
            "t <1>",
            "x",
            "y",
            &[
                Series {
                    label: "a",
                    color: "red",
                    points: vec![(0.0, 1.0), (1.0, 2.0), (2.0, f64::NAN), (3.0, 1.5)],
                    dashed: false,
                },
                Series { label: "b", color: "blue", points: vec![(0.0, 0.5), (3.0, 0.7)], dashed: true },
            ],
        );
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<path").count(), 2);
        // NaN starts a new sub-path.
        assert_eq!(svg.matches('M').count() - svg.matches("<path d=\"M").count(), 1);
        assert!(svg.contains("t &lt;1&gt;"));
        let ticks = nice_ticks(0.0, 1.0, 5);
        assert_eq!(ticks.len(), 6);
        assert!((ticks[3] - 0.6).abs() < 1e-12);
    }
}
