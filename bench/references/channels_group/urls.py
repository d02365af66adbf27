import asyncio

from channels.layers import get_channel_layer
from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from django.urls import path

GROUP = "org"


async def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


async def events(request: HttpRequest) -> StreamingHttpResponse:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(GROUP, channel)

    async def stream():
        try:
            yield b"retry: 3000\n\n"
            while True:
                try:
                    message = await asyncio.wait_for(layer.receive(channel), timeout=15)
                except TimeoutError:
                    yield b": heartbeat\n\n"
                    continue
                yield message["frame"].encode()
        finally:
            await layer.group_discard(GROUP, channel)

    response = StreamingHttpResponse(stream(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    return response


urlpatterns = [path("healthz", healthz), path("events", events)]
