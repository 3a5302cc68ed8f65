//! Pareto fronts of evaluations whose objectives are all "higher is better".

/// Whether `a` is at least as good as `b` everywhere and better somewhere.
pub fn dominates(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x >= y) && a.iter().zip(b).any(|(x, y)| x > y)
}

/// Indices of the points no other point dominates, sorted by the first objective (descending),
/// then index; of points with equal values only the first is kept.
pub fn front(points: &[Vec<f64>]) -> Vec<usize> {
    let mut kept: Vec<usize> = (0..points.len())
        .filter(|&i| {
            !points
                .iter()
                .enumerate()
                .any(|(j, other)| dominates(other, &points[i]) || (j < i && other == &points[i]))
        })
        .collect();
    kept.sort_by(|&a, &b| points[b][0].total_cmp(&points[a][0]).then(a.cmp(&b)));
    kept
}

/// `runs` preference vectors spread evenly over the simplex of `objectives` objectives:
/// for two, (1, 0), …, (0, 1); for more, each corner then the centre, then edges' midpoints.
pub fn preferences(objectives: usize, runs: usize) -> Vec<Vec<f64>> {
    if objectives <= 1 {
        return vec![vec![1.0]; runs.max(1)];
    }
    if objectives == 2 {
        if runs <= 1 {
            return vec![vec![0.5, 0.5]];
        }
        return (0..runs)
            .map(|k| {
                let a = 1.0 - k as f64 / (runs - 1) as f64;
                vec![a, 1.0 - a]
            })
            .collect();
    }
    let corner = |i: usize| {
        (0..objectives)
            .map(|j| f64::from(u8::from(i == j)))
            .collect()
    };
    let mut out: Vec<Vec<f64>> = (0..objectives).map(corner).collect();
    out.push(vec![1.0 / objectives as f64; objectives]);
    'edges: for i in 0..objectives {
        for j in i + 1..objectives {
            let mut p = vec![0.0; objectives];
            p[i] = 0.5;
            p[j] = 0.5;
            out.push(p);
            if out.len() >= runs {
                break 'edges;
            }
        }
    }
    out.truncate(runs.max(1));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_front_drops_dominated_and_repeated_points() {
        let points = vec![
            vec![0.9, 0.1],
            vec![0.5, 0.5],
            vec![0.4, 0.4],
            vec![0.1, 0.9],
            vec![0.5, 0.5],
            vec![0.9, 0.05],
        ];
        assert_eq!(front(&points), [0, 1, 3]);
        assert!(dominates(&[0.5, 0.5], &[0.4, 0.5]));
        assert!(!dominates(&[0.5, 0.5], &[0.5, 0.5]));
        assert!(!dominates(&[0.6, 0.4], &[0.5, 0.5]));
    }

    #[test]
    fn preferences_span_the_simplex() {
        assert_eq!(
            preferences(2, 3),
            vec![vec![1.0, 0.0], vec![0.5, 0.5], vec![0.0, 1.0]]
        );
        let three = preferences(3, 5);
        assert_eq!(three.len(), 5);
        for p in &three {
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
    }
}
