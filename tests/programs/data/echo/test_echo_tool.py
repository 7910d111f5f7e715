"""Suite of echo_tool.py: every way a test may start the program."""

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
SCRIPT = HERE / "echo_tool.py"


def run(args, **kw):
    return subprocess.run(["python3", str(SCRIPT), *args], capture_output=True, text=True, **kw)


def test_python3_relative_with_cwd():
    r = subprocess.run(["python3", "echo_tool.py", "hi"], cwd=HERE, capture_output=True, text=True)
    assert r.stdout == "hi\n"


def test_sys_executable_absolute():
    r = subprocess.run([sys.executable, str(SCRIPT), "--upper", "hi"], capture_output=True, text=True)
    assert r.stdout.strip() == "HI"


def test_uv_run_python():
    r = subprocess.run(["uv", "run", "python", str(SCRIPT), "a", "b"], capture_output=True, text=True)
    assert r.stdout.strip() == "a b"


def test_stdin():
    r = run(["--stdin"], input="piped text\n")
    assert r.returncode == 0 and r.stdout.strip() == "piped text"


def test_cwd_elsewhere(tmp_path):
    d = tmp_path / "workdir"
    d.mkdir()
    r = run(["--pwd"], cwd=d)
    assert r.stdout.strip() == "workdir"


def test_reads_file_in_tmp_path(tmp_path):
    f = tmp_path / "in.txt"
    f.write_text("from a file\n")
    assert run(["--read", str(f)]).stdout.strip() == "from a file"


def test_check_output():
    out = subprocess.check_output(["python3", str(SCRIPT), "x", "y"], text=True)
    assert out.strip() == "x y"


def test_shell_string():
    r = subprocess.run(f"python3 {SCRIPT} from shell", shell=True, capture_output=True, text=True)
    assert r.stdout.strip() == "from shell"


def test_dash_m():
    r = subprocess.run(["python3", "-m", "echo_tool", "mod"], cwd=HERE, capture_output=True, text=True)
    assert r.stdout.strip() == "mod"


def test_direct_path():
    r = subprocess.run([str(SCRIPT), "direct"], capture_output=True, text=True)
    assert r.stdout.strip() == "direct"


def test_env_passed():
    r = run(["--env", "GREETING"], env={**os.environ, "GREETING": "hello"})
    assert r.stdout.strip() == "hello"


def test_usage_on_bad_flag():
    r = run(["--bogus"])
    assert r.returncode == 2
    assert "usage:" in r.stderr


def test_not_a_command():
    assert "echo" in SCRIPT.name


def test_only_nonzero_exit():
    assert run(["--bogus"]).returncode != 0


def test_help_exit_code():
    assert run(["--help"]).returncode == 0


def test_wrong_expectation():
    assert run(["x"]).stdout == "y\n"
