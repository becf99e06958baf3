"""Many samples at once, each running many commands in its own Airlock sandbox: every result must
come back to the command that asked for it (no loss, no mix-up), under full concurrency."""

from pathlib import Path

from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.scorer import CORRECT, INCORRECT, Score, Target, accuracy, scorer
from inspect_ai.solver import Generate, TaskState, solver
from inspect_ai.util import sandbox

SPEC = str(Path(__file__).parent.parent / "specs" / "many.yaml")


@solver
def run_commands(commands: int):  # type: ignore[no-untyped-def]
    async def solve(state: TaskState, generate: Generate) -> TaskState:
        mismatches = []
        for i in range(commands):
            token = f"{state.sample_id}-{state.epoch}-{i}"
            if i % 10 == 0:  # stdin in, stdout out
                r = await sandbox().exec(["cat"], input=token)
                expected = (token, "")
            else:  # env in, both streams out
                r = await sandbox().exec(["sh", "-c", 'echo "$T"; echo "err-$T" >&2'], env={"T": token})
                expected = (f"{token}\n", f"err-{token}\n")
            if (r.stdout, r.stderr) != expected or r.returncode != 0:
                mismatches.append({"i": i, "expected": expected, "got": [r.stdout, r.stderr, r.returncode]})
        state.metadata["mismatches"] = mismatches
        state.metadata["commands"] = commands
        return state

    return solve


@scorer(metrics=[accuracy()])
def all_matched():  # type: ignore[no-untyped-def]
    async def score(state: TaskState, target: Target) -> Score:
        return Score(value=CORRECT if not state.metadata.get("mismatches") else INCORRECT)

    return score


@task
def many_execs(samples: int = 50, commands: int = 100) -> Task:
    return Task(
        dataset=[Sample(id=f"s{i:02d}", input="run") for i in range(samples)],
        solver=run_commands(commands),
        scorer=all_matched(),
        sandbox=("airlock", SPEC),
    )
