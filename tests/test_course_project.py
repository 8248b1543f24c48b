"""A project written for OpenServerless, served as it is: the platform's variables, its index
format, and what `up` reports at start."""

from __future__ import annotations

import re

import httpx

from streamwhisk.testing import RunningServer


def test_the_platform_variables_are_there_as_a_login_provides_them(
    course_server: RunningServer,
) -> None:
    answer = httpx.get(course_server.url + "/api/my/hello/platform", timeout=30).json()
    # the platform's page derives stream.<host> and s3.<host> from it: a name, not an address
    port = course_server.url.rsplit(":", 1)[1]
    assert answer == {"host": f"http://localhost:{port}", "username": "learner"}


def test_a_course_index_lists_its_groups_in_file_order(course_server: RunningServer) -> None:
    index = httpx.get(course_server.url + "/api/my/mastrogpt/index", timeout=30).json()
    assert index == {"username": "learner", "services": {
        "Chat": [{"name": "Echo", "url": "chat/echo"}],
        "Hello": [{"name": "Form", "url": "hello/form"},
                  {"name": "Platform", "url": "hello/platform"}]}}


def test_up_lists_each_action_and_each_unset_variable_once(course_server: RunningServer) -> None:
    log = course_server.log()
    assert re.search(r"  chat/echo +python:default \(Python 3\.\d+\)  web", log), log
    assert re.search(r"  hello/also_needs  python:default \(Python 3\.\d+\)  not web", log), log
    assert "unset: $COURSE_MODEL_NOT_SET, needed by hello/also_needs, hello/needs" in log
    assert "unset: $COURSE_KEY_NOT_SET, needed by hello/needs" in log
    assert log.count("$COURSE_MODEL_NOT_SET") == 1
    assert "COURSE_REGION" not in log  # it has a default


def test_a_syntax_error_in_one_action_is_reported_at_start_and_the_rest_is_served(
    course_server: RunningServer,
) -> None:
    reported = re.search(r"hello/broken +cannot run: packages/hello/broken.py:\d+: syntax error",
                         course_server.log())
    assert reported, course_server.log()
    assert httpx.get(course_server.url + "/api/my/chat/echo?input=hi", timeout=30).json() == {
        "output": "you said: hi"}


def test_the_object_store_name_says_when_the_project_runs_no_store(
        course_server: RunningServer) -> None:
    port = course_server.url.rsplit(":", 1)[1]
    answer = httpx.get(course_server.url + "/learner-data/x",
                       headers={"Host": f"s3.localhost:{port}"}, timeout=30)
    assert answer.status_code == 503
    assert "no object store" in answer.json()["error"]
    streamed = httpx.post(course_server.url + "/web/_/chat/echo", json={"input": "hi"},
                          headers={"Host": f"stream.localhost:{port}"}, timeout=60)
    assert streamed.status_code == 200 and '"done": true' in streamed.text
