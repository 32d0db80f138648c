"""stage-weights.sh, run for real by /bin/sh against a stand-in container engine.

The stand-in (``podman``/``docker`` on PATH, a small Python program) answers the NIM
utilities the way a NIM image does: ``list-model-profiles`` prints profile lines in
NIM's format, ``download-to-cache --profile ID`` writes that profile into the mounted
cache. It logs every argv, so the tests see exactly which profiles the script asked
for, and that the NGC key travels only through the environment.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import pytest

from nimgen.airgap.plan import parse_mirror, plan_airgap
from nimgen.airgap.weights import WeightsOptions, render_stage_script
from nimgen.selection import Selection
from nimgen.snapshot import Loaded
from tests.airgap.conftest import loaded_of, unavailable
from tests.support.model_records import make_record

KEY = "nvapi-test-secret-0123456789abcdef"
MODELS = ("llama-3.1-8b-instruct", "mistral-7b-instruct-v0.3")
PROFILE_NAMES = (
    "tensorrt_llm-h100-fp8-tp1-throughput",
    "tensorrt_llm-h100-bf16-tp2-latency",
    "tensorrt_llm-h100-fp16-tp1-throughput-lora",
    "tensorrt_llm-h100_nvl-fp8-tp1-throughput",
    "tensorrt_llm-a100-bf16-tp1-throughput",
    "vllm-bf16-tp1",
)
LORA_VLLM = "vllm-bf16-tp1-lora"


def profile_id(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


ID = {name: profile_id(name) for name in (*PROFILE_NAMES, LORA_VLLM)}

FAKE_ENGINE = r"""
import json, os, sys
from pathlib import Path

args = sys.argv[1:]
with open(os.environ["FAKE_ENGINE_LOG"], "a") as log:
    log.write(json.dumps({"engine": Path(sys.argv[0]).name, "argv": args,
                          "key": os.environ.get("NGC_API_KEY")}) + "\n")
assert args[0] == "run", args
passed, cache, i = set(), None, 1
while i < len(args):
    arg = args[i]
    if arg in ("-e", "-v", "--user", "--device", "--gpus"):
        if arg == "-e":
            passed.add(args[i + 1].split("=")[0])
        if arg == "-v":
            cache = Path(args[i + 1].split(":")[0])
        i += 2
    elif arg.startswith("-"):
        i += 1
    else:
        break
image, command = args[i], args[i + 1:]
if image in os.environ.get("FAKE_ENGINE_FAIL", "").split():
    sys.exit("Error: pulling " + image + ": unauthorized")
names = json.loads(os.environ["FAKE_PROFILES"])
lora = os.environ["FAKE_LORA"]
ids = {n: __import__("hashlib").sha256(n.encode()).hexdigest() for n in [*names, lora]}
if command == ["list-model-profiles"]:
    print("SYSTEM INFO\n- Free GPUs: <None>\nMODEL PROFILES\n"
          "- Compatible with system and runnable: <None>\n- Incompatible with system:")
    for name in names:
        print(f"  - {ids[name]} ({name})")
    print(f"  - With LoRA support:\n    - {ids[lora]} ({lora})")
    sys.exit(0)
assert command[0] == "download-to-cache", command
assert "NGC_API_KEY" in passed and os.environ.get("NGC_API_KEY"), "no key for the download"
wanted = list(ids.values()) if command[1:] == ["--all"] else command[2:]
for profile in wanted:
    if profile not in ids.values():
        sys.exit(f"unknown profile {profile}")
    blob = cache / "ngc" / "hub" / ("models--" + image.replace("/", "--").replace(":", "--"))
    blob.mkdir(parents=True, exist_ok=True)
    (blob / profile).write_text("weights of " + profile + "\n")
"""


def script_for(sample: Loaded, tmp: Path, gpus: tuple[str, ...] = ()) -> Path:
    plan = plan_airgap(
        sample,
        mirror=parse_mirror("registry.example.com:5000/nim"),
        selection=Selection(include=MODELS),
        weights=WeightsOptions(gpus=gpus).checked(),
    )
    assert plan.weights is not None
    script = tmp / "stage-weights.sh"
    script.write_text(render_stage_script(plan.weights))
    return script


@pytest.fixture
def engine(tmp_path: Path) -> Path:
    """A bin directory with stand-in ``podman`` and ``docker``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("podman", "docker"):
        program = bin_dir / name
        program.write_text(f"#!{sys.executable}\n{FAKE_ENGINE}")
        program.chmod(0o755)
    return bin_dir


def run_script(
    script: Path, engine: Path, *args: str, key: str | None = KEY, fail: str = ""
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    log = script.parent / "engine.log"
    env = {
        "PATH": f"{engine}:{os.environ['PATH']}",
        "HOME": str(script.parent),
        "FAKE_ENGINE_LOG": str(log),
        "FAKE_ENGINE_FAIL": fail,
        "FAKE_PROFILES": json.dumps(PROFILE_NAMES),
        "FAKE_LORA": LORA_VLLM,
    }
    if key is not None:
        env["NGC_API_KEY"] = key
    result = subprocess.run(
        ["sh", str(script), "--out", str(script.parent / "out"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return result, calls


def downloads(calls: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(image, profile) of every download-to-cache call."""
    out = []
    for call in calls:
        argv = call["argv"]
        if "download-to-cache" in argv:
            at = argv.index("download-to-cache")
            out.extend((argv[at - 1], p) for p in argv[at + 1 :] if p != "--profile")
    return out


def image_of(model: str, tag: str) -> str:
    namespace = "nim/meta" if model.startswith("llama") else "nim/mistralai"
    return f"nvcr.io/{namespace}/{model}:{tag}"


def test_the_script_is_posix_sh_and_shellcheck_clean(sample: Loaded, tmp_path: Path) -> None:
    script = script_for(sample, tmp_path, gpus=("h100",))
    for shell in ("sh", "dash", "bash"):
        if shutil.which(shell):
            checked = subprocess.run([shell, "-n", str(script)], capture_output=True, text=True)
            assert checked.returncode == 0, (shell, checked.stderr)
    if shutil.which("shellcheck") is None:
        unavailable("shellcheck not installed (apt-get install -y shellcheck)")
    linted = subprocess.run(
        ["shellcheck", "--shell=sh", "--severity=style", str(script)],
        capture_output=True,
        text=True,
    )
    assert linted.returncode == 0, linted.stdout


def test_gpu_choice_stages_that_gpus_profiles_and_packs_one_archive_per_model(
    sample: Loaded, tmp_path: Path, engine: Path
) -> None:
    script = script_for(sample, tmp_path, gpus=("h100",))
    result, calls = run_script(script, engine, "--engine", "podman")
    assert result.returncode == 0, result.stderr
    llama = image_of("llama-3.1-8b-instruct", "1.15.5")  # the version pinned beside latest
    wanted = sorted([ID["tensorrt_llm-h100-fp8-tp1-throughput"], ID[PROFILE_NAMES[1]]])
    assert sorted(p for i, p in downloads(calls) if i == llama) == wanted
    assert {i for i, _ in downloads(calls)} == {llama, image_of(MODELS[1], "1.12.0")}
    # Every call mounts the model's own cache folder as the image's default cache.
    for call in calls:
        assert call["engine"] == "podman"
        assert "-e" in call["argv"] and "NGC_API_KEY" in call["argv"]
        assert "NIM_CACHE_PATH=/opt/nim/.cache" in call["argv"]
    out = tmp_path / "out"
    with tarfile.open(out / "llama-3.1-8b-instruct.tar") as tar:
        members = sorted(m.name for m in tar.getmembers() if m.isfile())
        assert not any(m.name in (".", "./") for m in tar.getmembers())
    # The cache's entries, without "." (unpacking "." would touch the PVC's root).
    hub = "ngc/hub/models--nvcr.io--nim--meta--llama-3.1-8b-instruct--1.15.5"
    assert members == sorted(f"{hub}/{p}" for p in wanted)
    assert (out / "profiles" / "llama-3.1-8b-instruct.txt").is_file()
    sums = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=out, capture_output=True, text=True
    )
    assert sums.returncode == 0 and sums.stdout.count(": OK") == 2, sums.stdout
    # The key travels only through the environment: no file, argument or output holds it.
    assert all(call["key"] == KEY for call in calls)
    assert not any(KEY in arg for call in calls for arg in call["argv"])
    assert KEY not in result.stdout + result.stderr + script.read_text()
    assert not any(KEY.encode() in p.read_bytes() for p in out.rglob("*") if p.is_file())


def test_without_a_profile_choice_it_lists_the_profiles_and_stops(
    sample: Loaded, tmp_path: Path, engine: Path
) -> None:
    script = script_for(sample, tmp_path)
    result, calls = run_script(script, engine)
    assert result.returncode == 2
    assert "choose which to download: --gpu NAME" in result.stderr
    assert downloads(calls) == []
    assert sorted(p.name for p in (tmp_path / "out" / "profiles").iterdir()) == [
        f"{m}.txt" for m in MODELS
    ]
    assert not list((tmp_path / "out").glob("*.tar"))


def test_no_key_is_refused_before_any_container_runs(
    sample: Loaded, tmp_path: Path, engine: Path
) -> None:
    script = script_for(sample, tmp_path, gpus=("h100",))
    result, calls = run_script(script, engine, key=None)
    assert result.returncode == 2
    assert "NGC_API_KEY is not set" in result.stderr
    assert calls == []


def test_a_gpu_without_its_own_profiles_gets_the_gpu_independent_ones(
    sample: Loaded, tmp_path: Path, engine: Path
) -> None:
    script = script_for(sample, tmp_path, gpus=("h100",))
    result, calls = run_script(script, engine, "--gpu", "L40S", "--model", MODELS[0])
    assert result.returncode == 0, result.stderr
    assert [p for _, p in downloads(calls)] == [ID["vllm-bf16-tp1"]]


def test_profiles_by_id_or_name_all_profiles_and_this_machine(
    sample: Loaded, tmp_path: Path, engine: Path
) -> None:
    script = script_for(sample, tmp_path)
    a100 = ID["tensorrt_llm-a100-bf16-tp1-throughput"]
    by_name = "tensorrt_llm-h100_nvl-fp8-tp1-throughput"
    result, calls = run_script(
        script, engine, "--model", MODELS[0], "--profile", a100, "--profile", by_name
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p for _, p in downloads(calls)) == sorted([a100, ID[by_name]])

    (tmp_path / "engine.log").unlink()
    result, calls = run_script(script, engine, "--model", MODELS[0], "--all-profiles")
    assert result.returncode == 0, result.stderr
    assert [c["argv"][-1] for c in calls if "download-to-cache" in c["argv"]] == ["--all"]

    (tmp_path / "engine.log").unlink()
    result, calls = run_script(
        script, engine, "--model", MODELS[0], "--this-machine", "--engine", "docker"
    )
    assert result.returncode == 0, result.stderr
    (download,) = [c["argv"] for c in calls if "download-to-cache" in c["argv"]]
    assert download[-1] == "download-to-cache"  # NIM picks for this machine's GPUs
    assert download[download.index("--gpus") + 1] == "all"
    assert download[download.index("--user") + 1] == f"{os.getuid()}:{os.getgid()}"


def test_a_failing_model_fails_the_run_and_the_others_are_still_staged(
    sample: Loaded, tmp_path: Path, engine: Path
) -> None:
    script = script_for(sample, tmp_path, gpus=("h100",))
    result, _calls = run_script(script, engine, fail=image_of(MODELS[1], "1.12.0"))
    assert result.returncode == 1
    assert f"failed: {MODELS[1]}" in result.stderr
    assert "login nvcr.io --username '$oauthtoken'" in result.stderr
    assert (tmp_path / "out" / f"{MODELS[0]}.tar").is_file()
    assert not (tmp_path / "out" / f"{MODELS[1]}.tar").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--frobnicate",), "unknown option: --frobnicate"),
        (("--engine", "containerd"), "--engine must be podman or docker"),
        (("--gpu", "h100", "--all-profiles"), "give either --gpu or --all-profiles"),
        (("--profile", "x", "--this-machine"), "give either --profile or --this-machine"),
        (("--gpu", "h100!"), "--gpu h100!: use the GPU model"),
        (("--model", "nope"), "--model nope is not one of this script's models"),
        (("--out",), "--out needs a value"),
    ],
)
def test_bad_usage_exits_2_with_one_line(
    sample: Loaded, tmp_path: Path, engine: Path, args: tuple[str, ...], message: str
) -> None:
    script = script_for(sample, tmp_path)
    log = tmp_path / "engine.log"
    env = dict(os.environ, PATH=f"{engine}:{os.environ['PATH']}", FAKE_ENGINE_LOG=str(log))
    result = subprocess.run(
        ["sh", str(script), *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert f"stage-weights.sh: {message}" in result.stderr
    assert not log.exists()


def test_a_model_named_like_a_shell_word_stays_data(tmp_path: Path, engine: Path) -> None:
    """A model named like a here-document word must not end the model list early (names
    are image repository components: lower-case, so these are the ones possible)."""
    names = ("eof", "models", "usage", "end")
    records = [
        make_record(name, namespace="nim/odd", tags=["1.0"], latestTag="1.0") for name in names
    ]
    plan = plan_airgap(
        loaded_of(*records),
        mirror=parse_mirror("registry.example.com/nim"),
        weights=WeightsOptions().checked(),
    )
    assert plan.weights is not None
    script = tmp_path / "stage-weights.sh"
    script.write_text(render_stage_script(plan.weights))
    result, calls = run_script(script, engine, "--profile", ID["vllm-bf16-tp1"])
    assert result.returncode == 0, result.stderr
    assert sorted(i for i, _ in downloads(calls)) == sorted(
        f"nvcr.io/nim/odd/{name}:1.0" for name in names
    )
    assert sorted(p.name for p in (tmp_path / "out").glob("*.tar")) == sorted(
        f"{name}.tar" for name in names
    )


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv to unpack as another user",
)
def test_the_archive_unpacks_into_a_pvc_root_the_loader_does_not_own(
    sample: Loaded, tmp_path: Path, engine: Path
) -> None:
    """As on the cluster: the PVC's root belongs to root with the pod's fsGroup, and the
    loader runs as another user. The printed 'tar -xf - -C ...' must succeed there."""
    script = script_for(sample, tmp_path, gpus=("h100",))
    result, _calls = run_script(script, engine, "--model", MODELS[0])
    assert result.returncode == 0, result.stderr
    archive = tmp_path / "out" / f"{MODELS[0]}.tar"
    # pytest's tmp_path is private to root; the PVC stands in a directory anyone may enter.
    with tempfile.TemporaryDirectory(prefix="nimgen-pvc-") as mount:
        Path(mount).chmod(0o755)
        pvc = Path(mount) / "cache"
        pvc.mkdir()
        os.chown(pvc, 0, 4242)
        pvc.chmod(0o2775)
        with archive.open("rb") as stdin:  # 'oc exec -i ... < MODEL.tar'
            as_loader = ["setpriv", "--reuid=4242", "--regid=4242", "--clear-groups"]
            unpack = [*as_loader, "tar", "-xf", "-", "-C", str(pvc)]
            unpacked = subprocess.run(
                unpack, stdin=stdin, capture_output=True, text=True, timeout=60
            )
        assert unpacked.returncode == 0, unpacked.stderr
        cached = sorted(p.relative_to(pvc).as_posix() for p in pvc.rglob("*") if p.is_file())
    assert len(cached) == 2 and all(c.startswith("ngc/hub/") for c in cached)
