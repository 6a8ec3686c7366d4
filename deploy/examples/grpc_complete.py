#!/usr/bin/python3
"""Asks a Fabric server for a completion over gRPC, streaming the text as it arrives.

    deploy/examples/grpc_complete.py HOST:PORT PROMPT [MAX_TOKENS]

Runs on Debian's /usr/bin/python3 with python3-grpcio, python3-protobuf and protobuf-compiler:
the message classes are generated from proto/fabric/v1/inference.proto at start-up, and the
calls go through grpcio's generic channel methods, so no generated stub package is needed.
"""
import importlib
import os
import subprocess
import sys
import tempfile

import grpc

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVICE = "/fabric.v1.Inference/"


def load_messages(proto_root=os.path.join(REPO, "proto")):
    """Compiles inference.proto with protoc and imports the generated message module."""
    out = tempfile.mkdtemp(prefix="fabric-proto-")
    subprocess.run(["protoc", f"--python_out={out}", f"-I{proto_root}",
                    os.path.join(proto_root, "fabric/v1/inference.proto")], check=True)
    sys.path.insert(0, out)
    return importlib.import_module("fabric.v1.inference_pb2")


class FabricClient:
    """fabric.v1.Inference over a grpcio channel."""

    # method name -> (request type, response type, streaming)
    METHODS = {
        "Complete": ("CompletionRequest", "CompletionResponse", False),
        "CompleteStream": ("CompletionRequest", "CompletionResponse", True),
        "ChatComplete": ("ChatCompletionRequest", "ChatCompletionResponse", False),
        "ChatCompleteStream": ("ChatCompletionRequest", "ChatCompletionChunk", True),
        "ListModels": ("ListModelsRequest", "ListModelsResponse", False),
        "Health": ("HealthRequest", "HealthResponse", False),
    }

    def __init__(self, target, messages):
        self.messages = messages
        self.channel = grpc.insecure_channel(target)
        for name, (request, response, streaming) in self.METHODS.items():
            factory = self.channel.unary_stream if streaming else self.channel.unary_unary
            call = factory(SERVICE + name,
                           request_serializer=getattr(messages, request).SerializeToString,
                           response_deserializer=getattr(messages, response).FromString)
            setattr(self, name, call)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    target, prompt = sys.argv[1], sys.argv[2]
    max_tokens = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    messages = load_messages()
    client = FabricClient(target, messages)
    model = client.ListModels(messages.ListModelsRequest()).data[0].id
    request = messages.CompletionRequest(model=model, prompt=prompt)
    request.sampling.max_tokens = max_tokens
    print(prompt, end="", flush=True)
    for chunk in client.CompleteStream(request, timeout=600):
        for choice in chunk.choices:
            print(choice.text, end="", flush=True)
    print()


if __name__ == "__main__":
    main()
