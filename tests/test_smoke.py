import subprocess
import sys

from kelora import __version__


def test_version_through_installed_command(kelora_bin):
    proc = subprocess.run([kelora_bin, "--version"], capture_output=True, text=True)
    assert proc.returncode == 0
    assert proc.stdout == f"kelora {__version__}\n"


def test_python_dash_m():
    proc = subprocess.run([sys.executable, "-m", "kelora", "-V"], capture_output=True, text=True)
    assert proc.stdout.startswith("kelora ")
