import asyncio

PORT = 12000


async def handle_client(reader, writer):
    data = await reader.read(1024)
    sentence = data.decode()
    addr = writer.get_extra_info('peername')
    print(f"Received {sentence!r} from {addr}")
    writer.write(sentence.upper().encode())
    await writer.drain()
    writer.close()
    await writer.wait_closed()


async def main():
    server = await asyncio.start_server(handle_client, '0.0.0.0', PORT)
    print('The server is ready to receive')
    async with server:
        await server.serve_forever()


asyncio.run(main())
