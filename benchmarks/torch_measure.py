"""The timer of the PyTorch benchmark scripts (models_torch.py, kernels_torch.py), as the Node suites time theirs."""
import statistics
import time


def measure(fn, reps, max_seconds):
    """Median wall ms and process CPU ms (all threads: robust to a busy machine) of up to `reps` runs after two
    warm-ups (one run when the first takes longer than `max_seconds`), and the run count."""
    def once():
        t, c = time.perf_counter(), time.process_time()
        fn()
        return (time.perf_counter() - t) * 1e3, (time.process_time() - c) * 1e3
    first = once()
    if first[0] > max_seconds * 1e3:
        return first[0], first[1], 1
    once()
    n = max(1, min(reps, int(max_seconds * 1e3 / max(first[0], 1e-3))))
    runs = [once() for _ in range(n)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs), n
