"""The benchmarks' Python side: berthd, dockerd and podman driven through their CLIs.

    import sys; sys.path.insert(0, "benchmarks"); from engines import Engines
    bench = Engines(work, podman_flags)   # $work of the shell side, podman's flags
    bench.cli("berthd", "run", ...); seconds = bench.timed("dockerd", "run", ...)
    bench.report({"berthd": s1, "dockerd": s2}, "title")
"""
import os
import subprocess
import time


class Engines:
    def __init__(self, work, podman_flags, dockerd="docker"):
        """`podman_flags` None leaves podman out; `dockerd`: the peer's directory under `work`."""
        self.engines = {
            "berthd": (["docker"], dict(os.environ, DOCKER_HOST=f"unix://{work}/berth.sock")),
            "dockerd": (["docker"], dict(os.environ, DOCKER_HOST=f"unix://{work}/{dockerd}/docker.sock")),
        }
        if podman_flags is not None:
            self.engines["podman"] = (["podman"] + list(podman_flags), dict(os.environ))

    def __iter__(self):
        return iter(self.engines)

    def cli(self, name, *args):
        prefix, env = self.engines[name]
        result = subprocess.run(prefix + list(args), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"{name}: {' '.join(args)}: exit {result.returncode}: {result.stderr.strip()}")
        return result

    def timed(self, name, *args):
        start = time.perf_counter()
        self.cli(name, *args)
        return time.perf_counter() - start

    @staticmethod
    def report(results, title):
        """Medians in ms, each peer as a ratio to berthd."""
        print(title)
        for name, value in results.items():
            print(f"{name:<9}{value*1000:>8.1f} ms   " + ("" if name == "berthd" else f"{name}/berthd = {value/results['berthd']:.2f}x"))
