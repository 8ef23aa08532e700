import sys

from llmlib.data import repo_root

# solutions/ sits at the repository root, beside llmlib/, and is not installed.
sys.path.insert(0, str(repo_root()))
