"""grpcio (Debian's python3-grpcio) against a running fabric daemon.

Run by run_e2e.sh, which starts the daemon and sets FABRIC_GRPC_TARGET, FABRIC_HTTP_URL,
FABRIC_MODEL and FABRIC_REPO_ROOT. The message classes are generated at test time with protoc
(--python_out only: Debian's grpc_tools is too old for this protobuf), and the service is called
through grpcio's generic channel API with the classes' SerializeToString / FromString.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import grpc
from google.protobuf import descriptor_pb2

TARGET = os.environ.get("FABRIC_GRPC_TARGET", "")
HTTP_URL = os.environ.get("FABRIC_HTTP_URL", "")
MODEL = os.environ.get("FABRIC_MODEL", "stories260K")
REPO = os.environ.get(
    "FABRIC_REPO_ROOT", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
)
CALL_TIMEOUT = 60  # seconds, for every RPC
MAX_TOKENS = 24
CONTEXT_LENGTH = 512  # stories260K's

pb = None  # fabric.v1 inference_pb2, generated in setUpModule
channel = None
generated = None


def setUpModule():
    global pb, channel, generated
    if not TARGET:
        raise RuntimeError("FABRIC_GRPC_TARGET is not set: run this through tests/e2e/run_e2e.sh")
    generated = tempfile.TemporaryDirectory(prefix="fabric-e2e-proto-")
    proto_root = os.path.join(REPO, "proto")
    subprocess.run(
        ["protoc", f"--python_out={generated.name}", "-I", proto_root,
         os.path.join(proto_root, "fabric", "v1", "inference.proto")],
        check=True, timeout=60)
    sys.path.insert(0, generated.name)
    from fabric.v1 import inference_pb2  # noqa: E402 (generated just above)
    pb = inference_pb2
    channel = grpc.insecure_channel(TARGET)
    grpc.channel_ready_future(channel).result(timeout=30)


def tearDownModule():
    if channel is not None:
        channel.close()
    if generated is not None:
        generated.cleanup()


def unary(method, request_type, response_type):
    return channel.unary_unary(f"/fabric.v1.Inference/{method}",
                               request_serializer=request_type.SerializeToString,
                               response_deserializer=response_type.FromString)


def server_stream(method, request_type, response_type):
    return channel.unary_stream(f"/fabric.v1.Inference/{method}",
                                request_serializer=request_type.SerializeToString,
                                response_deserializer=response_type.FromString)


def complete(request):
    return unary("Complete", pb.CompletionRequest, pb.CompletionResponse)(request,
                                                                          timeout=CALL_TIMEOUT)


def complete_stream(request):
    call = server_stream("CompleteStream", pb.CompletionRequest, pb.CompletionResponse)
    return list(call(request, timeout=CALL_TIMEOUT))


def chat_complete(request):
    call = unary("ChatComplete", pb.ChatCompletionRequest, pb.ChatCompletionResponse)
    return call(request, timeout=CALL_TIMEOUT)


def chat_complete_stream(request):
    call = server_stream("ChatCompleteStream", pb.ChatCompletionRequest, pb.ChatCompletionChunk)
    return list(call(request, timeout=CALL_TIMEOUT))


def greedy_completion(**overrides):
    request = pb.CompletionRequest(
        model=MODEL, prompt="Once upon a time",
        sampling=pb.SamplingOptions(temperature=0.0, max_tokens=MAX_TOKENS))
    for key, value in overrides.items():
        setattr(request, key, value)
    return request


def greedy_chat():
    return pb.ChatCompletionRequest(
        model=MODEL,
        messages=[pb.ChatMessage(role="user", content="Tell me a story about a cat.")],
        sampling=pb.SamplingOptions(temperature=0.0, max_tokens=MAX_TOKENS))


# --- Protocol buffer wire format, just enough to speak the reflection service by hand. ---

def read_varint(data, pos):
    value, shift = 0, 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def fields(data):
    """Yields (field_number, wire_type, value) of a serialized message; value is bytes for
    length-delimited fields and an int for varints."""
    pos = 0
    while pos < len(data):
        key, pos = read_varint(data, pos)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, pos = read_varint(data, pos)
        elif wire_type == 2:
            length, pos = read_varint(data, pos)
            value = bytes(data[pos:pos + length])
            pos += length
        elif wire_type == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire_type == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unexpected wire type {wire_type}")
        yield number, wire_type, value


def string_field(number, text):
    payload = text.encode()
    assert len(payload) < 128
    return bytes([(number << 3) | 2, len(payload)]) + payload


def reflection_call(request_bytes):
    """One ServerReflectionInfo exchange; returns the response's raw fields."""
    call = channel.stream_stream(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        request_serializer=lambda raw: raw, response_deserializer=lambda raw: raw)
    responses = list(call(iter([request_bytes]), timeout=CALL_TIMEOUT))
    assert len(responses) == 1, f"{len(responses)} responses"
    return list(fields(responses[0]))


class CompleteTest(unittest.TestCase):

    def test_greedy_complete_is_deterministic_with_consistent_usage(self):
        first = complete(greedy_completion())
        second = complete(greedy_completion())
        self.assertEqual(first.object, "text_completion")
        self.assertEqual(first.model, MODEL)
        self.assertTrue(first.id.startswith("cmpl-"), first.id)
        self.assertNotEqual(first.id, second.id)
        self.assertEqual(len(first.choices), 1)
        choice = first.choices[0]
        self.assertTrue(choice.text)
        self.assertIn(choice.finish_reason, ("stop", "length"))
        usage = first.usage
        self.assertGreater(usage.prompt_tokens, 0)
        self.assertGreater(usage.completion_tokens, 0)
        self.assertLessEqual(usage.completion_tokens, MAX_TOKENS)
        if choice.finish_reason == "length":
            self.assertEqual(usage.completion_tokens, MAX_TOKENS)
        self.assertEqual(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens)
        self.assertEqual(second.choices[0].text, choice.text)
        self.assertEqual(second.usage, usage)

    def test_stream_chunks_concatenate_to_complete_text(self):
        unary_response = complete(greedy_completion())
        chunks = complete_stream(greedy_completion())
        self.assertGreaterEqual(len(chunks), 2)
        self.assertEqual({c.id for c in chunks}, {chunks[0].id})
        for chunk in chunks:
            self.assertEqual(chunk.object, "text_completion")
            self.assertEqual(chunk.model, MODEL)
        text = "".join(choice.text for c in chunks for choice in c.choices)
        self.assertEqual(text, unary_response.choices[0].text)
        finishes = [choice.finish_reason for c in chunks for choice in c.choices if choice.finish_reason]
        self.assertEqual(finishes, [unary_response.choices[0].finish_reason])
        self.assertEqual(chunks[-1].choices[0].finish_reason, finishes[0])
        self.assertFalse(any(c.HasField("usage") for c in chunks),
                         "no usage without stream_options.include_usage")

    def test_stream_include_usage_puts_usage_on_the_last_chunk(self):
        unary_response = complete(greedy_completion())
        request = greedy_completion()
        request.stream_options.include_usage = True
        chunks = complete_stream(request)
        self.assertEqual(chunks[-1].usage, unary_response.usage)
        self.assertFalse(any(c.HasField("usage") for c in chunks[:-1]))

    def test_grpc_and_rest_agree(self):
        """The two surfaces share one core: the same greedy request, the same text."""
        body = json.dumps({"model": MODEL, "prompt": "Once upon a time", "temperature": 0,
                           "max_tokens": MAX_TOKENS}).encode()
        request = urllib.request.Request(f"{HTTP_URL}/v1/completions", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=CALL_TIMEOUT) as response:
            rest = json.load(response)
        grpc_response = complete(greedy_completion())
        self.assertEqual(grpc_response.choices[0].text, rest["choices"][0]["text"])
        self.assertEqual(grpc_response.usage.completion_tokens, rest["usage"]["completion_tokens"])
        self.assertEqual(grpc_response.usage.prompt_tokens, rest["usage"]["prompt_tokens"])

    def test_prompt_tokens_are_accepted(self):
        response = complete(pb.CompletionRequest(
            model=MODEL, prompt_tokens=pb.TokenList(tokens=[1, 100, 200, 300]),
            sampling=pb.SamplingOptions(temperature=0.0, max_tokens=4)))
        self.assertEqual(response.usage.prompt_tokens, 4)
        self.assertGreater(response.usage.completion_tokens, 0)


def finished_requests():
    """The daemon's fabric_request_success_total summed over finish reasons, and the
    requests it is running, from /metrics."""
    finished, running = 0.0, None
    with urllib.request.urlopen(f"{HTTP_URL}/metrics", timeout=CALL_TIMEOUT) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("fabric_request_success_total{"):
                finished += float(line.rsplit(" ", 1)[1])
            elif line.startswith("fabric_num_requests_running "):
                running = float(line.rsplit(" ", 1)[1])
    return finished, running


class CancelTest(unittest.TestCase):

    def test_cancelling_a_stream_ends_the_request(self):
        before, _ = finished_requests()
        request = greedy_completion()
        request.sampling.max_tokens = 400
        call = server_stream("CompleteStream", pb.CompletionRequest, pb.CompletionResponse)(
            request, timeout=CALL_TIMEOUT)
        received = 0
        for _ in call:
            received += 1
            if received == 3:
                call.cancel()
                break
        self.assertEqual(call.code(), grpc.StatusCode.CANCELLED)
        # The daemon ends the request (cancelled, or finished if it was faster than the
        # cancellation) and accounts for it: wait for that, bounded.
        deadline = time.monotonic() + 10
        while finished_requests() != (before + 1, 0) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(finished_requests(), (before + 1, 0))
        self.assertTrue(complete(greedy_completion()).choices[0].text, "the daemon serves on")


class ChatTest(unittest.TestCase):

    def test_greedy_chat_complete(self):
        first = chat_complete(greedy_chat())
        second = chat_complete(greedy_chat())
        self.assertEqual(first.object, "chat.completion")
        self.assertEqual(first.model, MODEL)
        self.assertEqual(len(first.choices), 1)
        choice = first.choices[0]
        self.assertEqual(choice.message.role, "assistant")
        self.assertTrue(choice.message.content)
        self.assertIn(choice.finish_reason, ("stop", "length"))
        self.assertEqual(first.usage.total_tokens,
                         first.usage.prompt_tokens + first.usage.completion_tokens)
        self.assertLessEqual(first.usage.completion_tokens, MAX_TOKENS)
        self.assertEqual(second.choices[0].message.content, choice.message.content)

    def test_chat_stream_matches_chat_complete(self):
        unary_response = chat_complete(greedy_chat())
        request = greedy_chat()
        request.stream_options.include_usage = True
        chunks = chat_complete_stream(request)
        self.assertGreaterEqual(len(chunks), 2)
        for chunk in chunks:
            self.assertEqual(chunk.object, "chat.completion.chunk")
        self.assertEqual(chunks[0].choices[0].delta.role, "assistant")
        self.assertEqual([c.choices[0].delta.role for c in chunks[1:] if c.choices],
                         [""] * len([c for c in chunks[1:] if c.choices]))
        content = "".join(choice.delta.content for c in chunks for choice in c.choices)
        self.assertEqual(content, unary_response.choices[0].message.content)
        self.assertEqual(chunks[-1].choices[0].finish_reason,
                         unary_response.choices[0].finish_reason)
        self.assertEqual(chunks[-1].usage, unary_response.usage)


class ServiceTest(unittest.TestCase):

    def test_list_models(self):
        response = unary("ListModels", pb.ListModelsRequest, pb.ListModelsResponse)(
            pb.ListModelsRequest(), timeout=CALL_TIMEOUT)
        self.assertEqual([card.id for card in response.data], [MODEL])
        card = response.data[0]
        self.assertEqual(card.object, "model")
        self.assertEqual(card.owned_by, "fabric")
        self.assertEqual(card.context_length, CONTEXT_LENGTH)
        self.assertGreater(card.created, 0)

    def test_health_is_serving(self):
        response = unary("Health", pb.HealthRequest, pb.HealthResponse)(
            pb.HealthRequest(), timeout=CALL_TIMEOUT)
        self.assertEqual(response.status, pb.HealthResponse.SERVING)
        self.assertEqual(list(response.cards_down), [])


class ErrorTest(unittest.TestCase):

    def assertCode(self, call, code, details_pattern):
        with self.assertRaises(grpc.RpcError) as raised:
            call()
        self.assertEqual(raised.exception.code(), code, raised.exception.details())
        self.assertRegex(raised.exception.details(), details_pattern)

    def test_unknown_model_is_not_found(self):
        request = greedy_completion(model="no-such-model")
        self.assertCode(lambda: complete(request), grpc.StatusCode.NOT_FOUND, "no-such-model")
        self.assertCode(lambda: complete_stream(request), grpc.StatusCode.NOT_FOUND, "no-such-model")
        chat = greedy_chat()
        chat.model = "no-such-model"
        self.assertCode(lambda: chat_complete(chat), grpc.StatusCode.NOT_FOUND, "no-such-model")

    def test_prompt_longer_than_the_context_is_invalid_argument(self):
        request = pb.CompletionRequest(
            model=MODEL, prompt_tokens=pb.TokenList(tokens=[100] * (CONTEXT_LENGTH + 1)),
            sampling=pb.SamplingOptions(temperature=0.0))
        self.assertCode(lambda: complete(request), grpc.StatusCode.INVALID_ARGUMENT,
                        "maximum context length")
        self.assertCode(lambda: complete_stream(request), grpc.StatusCode.INVALID_ARGUMENT,
                        "maximum context length")

    def test_bad_temperature_is_invalid_argument(self):
        request = greedy_completion()
        request.sampling.temperature = 5.0
        self.assertCode(lambda: complete(request), grpc.StatusCode.INVALID_ARGUMENT, "temperature")


class ReflectionTest(unittest.TestCase):

    def test_list_services_names_the_inference_service(self):
        # ServerReflectionRequest{list_services: ""}: field 7, a string.
        response = reflection_call(string_field(7, ""))
        by_number = {number: value for number, _, value in response}
        self.assertNotIn(7, by_number, "an error_response")
        self.assertIn(6, by_number, "a list_services_response")
        names = [value.decode() for _, _, service in fields(by_number[6])
                 for number, _, value in fields(service) if number == 1]
        self.assertIn("fabric.v1.Inference", names)

    def test_file_containing_symbol_describes_every_method(self):
        # ServerReflectionRequest{file_containing_symbol: "fabric.v1.Inference"}: field 4.
        response = reflection_call(string_field(4, "fabric.v1.Inference"))
        by_number = {number: value for number, _, value in response}
        self.assertIn(4, by_number, "a file_descriptor_response")
        served = {}
        for number, _, raw in fields(by_number[4]):
            if number == 1:
                file = descriptor_pb2.FileDescriptorProto.FromString(raw)
                served[file.name] = file
        self.assertIn("fabric/v1/inference.proto", served)
        service = {s.name: s for s in served["fabric/v1/inference.proto"].service}["Inference"]
        expected = pb.DESCRIPTOR.services_by_name["Inference"]
        self.assertEqual(sorted(m.name for m in service.method),
                         sorted(m.name for m in expected.methods))


if __name__ == "__main__":
    unittest.main(verbosity=2)
