#--web true
#--param S3_API_URL $S3_API_URL
#--param S3_ACCESS_KEY $S3_ACCESS_KEY
#--param S3_SECRET_KEY $S3_SECRET_KEY
#--param S3_BUCKET_DATA $S3_BUCKET_DATA
#--param POSTGRES_URL $POSTGRES_URL
#--param MILVUS_HOST $MILVUS_HOST
def main(args):
    return {"body": {"ok": True}}
