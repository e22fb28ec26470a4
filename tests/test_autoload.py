"""The post-import hook (``_yolo_repvit_autoload.when_imported``): every callback runs exactly once.

Each test runs in a fresh interpreter, because the hook puts a finder on ``sys.meta_path`` and
remembers which modules it has seen executed; the watched modules are throwaway files in
``tmp_path``.  The interleavings that lose a callback are forced with events, never with sleeps,
so a hook that loses one loses it every time; every wait has a timeout, so a deadlock fails the
test instead of hanging it.
"""

import textwrap

from conftest import OFF, run_python

# A module that announces it is executing and then waits to be let go, so another thread can act
# while it is known to be half-imported.
GATED_MODULE = """
    import __main__
    __main__.executing.set()
    __main__.release.wait(10)
    DONE = True  # last line: a callback that sees it ran after the whole body
"""


def write_module(folder, name, body):
    (folder / f"{name}.py").write_text(textwrap.dedent(body))


def run_child(tmp_path, code):
    """Run ``code`` in a new interpreter with ``tmp_path`` importable; its output lines."""
    prelude = f"""
        import sys, threading
        sys.path.insert(0, {str(tmp_path)!r})
        import _yolo_repvit_autoload as hook
    """
    return run_python(textwrap.dedent(prelude) + textwrap.dedent(code), env=OFF, timeout=120).splitlines()


def test_callback_registered_while_the_module_finishes_in_another_thread_runs_once(tmp_path):
    # Thread A imports a module; thread B calls when_imported while A is executing it. B's "is it
    # still initialising?" look-up answers from what it saw, then waits until A's import has
    # returned: the interleaving in which a check made outside the lock is overtaken.
    # Watched (a callback registered before the import): with check and register one step under
    # the lock, A cannot take the module's callbacks during the look-up, the wait times out and
    # B's callback is among those A runs.
    write_module(tmp_path, "racy", GATED_MODULE)
    out = run_child(tmp_path, """
        executing, release, imported = threading.Event(), threading.Event(), threading.Event()
        calls = []
        hook.when_imported("racy", lambda m: None)  # watched: the import runs through the hook's loader
        real = hook._initialising

        def overtaken(module):
            answer = real(module)
            if module.__name__ == "racy" and threading.current_thread().name == "B":
                release.set()  # let A finish the module ...
                print("overtaken", imported.wait(2))  # ... and its import (or, watched, wait on us)
            return answer

        def import_racy():
            __import__("racy")
            imported.set()

        hook._initialising = overtaken
        a = threading.Thread(target=import_racy, name="A", daemon=True)
        b = threading.Thread(target=hook.when_imported, args=("racy", calls.append), name="B", daemon=True)
        a.start()
        assert executing.wait(10), "the module never started executing"
        b.start()
        b.join(10)
        a.join(10)
        print("alive", a.is_alive() or b.is_alive())
        print("calls", len(calls), all(m.DONE for m in calls))
    """)
    # the old hook printed "calls 0": B registered after A had taken the callbacks
    assert out[-2:] == ["alive False", "calls 1 True"], out
    assert out[-3] == "overtaken False"  # the interleaving the test means to force: A waited on B's lock


def test_callback_registered_before_the_import_runs_once_after_the_module_executed(tmp_path):
    write_module(tmp_path, "later", "import sys\nDONE = 'later' in sys.modules\n")
    out = run_child(tmp_path, """
        seen = []
        hook.when_imported("later", lambda m: seen.append(getattr(m, "DONE", None)))
        print("before", seen)
        import later
        import later  # a second import runs nothing again
        import importlib
        importlib.reload(later)  # nor does a reload
        print("after", seen)
    """)
    assert out[-2:] == ["before []", "after [True]"]


def test_callback_for_an_imported_module_runs_before_when_imported_returns(tmp_path):
    write_module(tmp_path, "early", "DONE = True\n")
    out = run_child(tmp_path, """
        import early
        seen = []
        hook.when_imported("early", lambda m: seen.append(m.DONE))
        print(seen, [type(f).__name__ for f in sys.meta_path].count("_PostImportFinder"))
    """)
    assert out[-1] == "[True] 0"  # called at once, and nothing left behind to watch


def test_callback_can_register_more_callbacks_for_the_module_that_triggered_it(tmp_path):
    # the plugin does this: the autoload callback imports yolo_repvit, which calls when_imported
    # for the very module whose callbacks are running; that module still counts as initialising
    write_module(tmp_path, "trigger", "DONE = True\n")
    out = run_child(tmp_path, """
        seen = []
        hook.when_imported("trigger", lambda m: hook.when_imported("trigger", lambda n: seen.append(n.DONE)))
        import trigger
        print(seen)
    """)
    assert out[-1] == "[True]"


def test_callback_due_at_once_runs_outside_the_lock(tmp_path):
    # B's callback is due at once and imports a module thread A is executing; A, done with it,
    # needs the hook's lock to run that module's callbacks. Calling B's callback under the lock
    # would leave each thread waiting for the other.
    write_module(tmp_path, "gated", GATED_MODULE)
    out = run_child(tmp_path, """
        executing, release = threading.Event(), threading.Event()
        calls = []
        hook.when_imported("gated", calls.append)

        def import_gated(_module):
            release.set()
            import gated  # waits until A has finished it

        a = threading.Thread(target=__import__, args=("gated",), daemon=True)
        b = threading.Thread(target=hook.when_imported, args=("sys", import_gated), daemon=True)
        a.start()
        assert executing.wait(10), "the module never started executing"
        b.start()
        b.join(10)
        a.join(10)
        print("alive", a.is_alive() or b.is_alive(), "calls", len(calls))
    """)
    assert out[-1] == "alive False calls 1"


def test_many_threads_registering_during_an_import_each_get_their_callback_once(tmp_path):
    # Half the threads register while the module is held half-executed; the other half start as it
    # is let go, racing its callbacks being taken, and some find it done. Each callback runs once.
    write_module(tmp_path, "busy", GATED_MODULE)
    out = run_child(tmp_path, """
        executing, release = threading.Event(), threading.Event()
        counts = [0] * 32
        count_lock = threading.Lock()

        def register(i):
            def callback(module):
                assert module.DONE
                with count_lock:
                    counts[i] += 1
            hook.when_imported("busy", callback)

        hook.when_imported("busy", lambda m: None)
        importer = threading.Thread(target=__import__, args=("busy",), daemon=True)
        importer.start()
        assert executing.wait(10), "the module never started executing"
        first = [threading.Thread(target=register, args=(i,), daemon=True) for i in range(16)]
        [t.start() for t in first]
        [t.join(10) for t in first]
        print("none early", counts == [0] * 32)  # all registered, none called before the body ends
        release.set()
        second = [threading.Thread(target=register, args=(i,), daemon=True) for i in range(16, 32)]
        [t.start() for t in second]
        [t.join(10) for t in second + [importer]]
        print("alive", any(t.is_alive() for t in first + second + [importer]))
        print("counts", sorted(set(counts)))
    """)
    assert out[-3:] == ["none early True", "alive False", "counts [1]"]


def test_callbacks_wait_through_a_failed_import_for_the_next_one(tmp_path):
    write_module(tmp_path, "flaky", """
        import __main__
        import _yolo_repvit_autoload as hook
        if __main__.attempt == 1:
            hook.when_imported(__name__, lambda m: __main__.seen.append(m.attempt))
            raise RuntimeError("first attempt fails")
        attempt = __main__.attempt
    """)
    out = run_child(tmp_path, """
        seen = []
        for attempt in (1, 2, 3):
            try:
                import flaky
            except RuntimeError:
                pass
            sys.modules.pop("flaky", None)  # a fresh import each time
        print(seen)
    """)
    assert out[-1] == "[2]"  # not for the failed import, once for the next, not again for the third


def test_module_between_execution_and_its_return_to_sys_modules_counts_as_imported(tmp_path):
    # the import system takes an executed module out of sys.modules and puts it back; in between,
    # it has run its callbacks, so a registration then is due at once. A module removed from
    # sys.modules by its user, on the other hand, is waited for until it is imported again.
    write_module(tmp_path, "moved", "DONE = True\n")
    out = run_child(tmp_path, """
        seen = []
        hook.when_imported("moved", lambda m: None)
        import moved
        sys.modules.pop("moved")
        moved.__spec__._initializing = True  # as the import system leaves it at that moment
        hook.when_imported("moved", seen.append)
        print(seen == [moved])
        moved.__spec__._initializing = False
        hook.when_imported("moved", seen.append)
        print(len(seen))
        import moved as again
        print(len(seen), seen[-1] is again, again is not moved)
    """)
    assert out[-3:] == ["True", "1", "2 True True"]
