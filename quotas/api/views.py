"""One API view per operation: parse input, call a service or selector, shape output."""

from __future__ import annotations

from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from quotas import selectors, services
from quotas.api.serializers import (
    ComputeCreateInputSerializer,
    ComputeOutputSerializer,
    QuotaListOutputSerializer,
    QuotaSetInputSerializer,
    SpotQuotaSetInputSerializer,
    UsageOutputSerializer,
    VmSizeOutputSerializer,
)
from studio.errors import ApplicationError

WORKSPACE = OpenApiParameter("workspace", str, description="Needed when you belong to several workspaces")


class QuotaListSetApi(APIView):
    @extend_schema(parameters=[WORKSPACE], responses=QuotaListOutputSerializer)
    def get(self, request):
        workspace = selectors.workspace_for_user(user=request.user, name=request.query_params.get("workspace"))
        return Response(QuotaListOutputSerializer(selectors.quota_list(workspace=workspace)).data)

    @extend_schema(parameters=[WORKSPACE], request=QuotaSetInputSerializer, responses=QuotaListOutputSerializer)
    def post(self, request):
        """A body ``workspace`` caps that workspace; without it the limit is its subscription's, the
        subscription of ``?workspace=`` (or of all the user's workspaces, when they share one)."""
        data = QuotaSetInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if values.get("workspace"):
            target = selectors.workspace_for_user(user=request.user, name=values["workspace"])
        else:
            target = selectors.workspace_of_subscription_for_user(user=request.user,
                                                                  name=request.query_params.get("workspace"))
        limit = {"workspace_cap" if values.get("workspace") else "subscription_limit": values["limit"]}
        services.quota_save(user=request.user, workspace=target, family_id=values["family"], **limit)
        return Response(QuotaListOutputSerializer(selectors.quota_list(workspace=target)).data)


class SpotQuotaSetApi(APIView):
    @extend_schema(parameters=[WORKSPACE], request=SpotQuotaSetInputSerializer, responses=QuotaListOutputSerializer)
    def post(self, request):
        data = SpotQuotaSetInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        workspace = selectors.workspace_for_user(user=request.user, name=request.query_params.get("workspace"))
        services.quota_set_spot(user=request.user, subscription=workspace.subscription,
                                limit=data.validated_data["limit"], workspace=workspace)
        return Response(QuotaListOutputSerializer(selectors.quota_list(workspace=workspace)).data)


class UsageListApi(APIView):
    @extend_schema(parameters=[WORKSPACE, OpenApiParameter("since", str, description="ISO 8601 date or time")],
                   responses=UsageOutputSerializer(many=True))
    def get(self, request):
        workspace = selectors.workspace_for_user(user=request.user, name=request.query_params.get("workspace"))
        since = _since(request.query_params.get("since"))
        return Response(UsageOutputSerializer(selectors.usage_list(workspace=workspace, since=since), many=True).data)


def _since(raw: str | None):
    if not raw:
        return None
    moment = parse_datetime(raw)
    if moment is None and parse_date(raw) is not None:
        moment = parse_datetime(f"{raw}T00:00:00Z")
    if moment is None:
        raise ApplicationError(f"since: '{raw}' is not a date; write 2026-11-01 or 2026-11-01T12:00:00Z",
                               {"field": "since"})
    if moment.tzinfo is None:
        from datetime import timezone

        moment = moment.replace(tzinfo=timezone.utc)
    return moment


class VmSizeListApi(APIView):
    @extend_schema(parameters=[WORKSPACE], responses=VmSizeOutputSerializer(many=True))
    def get(self, request):
        workspace = selectors.workspace_for_user(user=request.user, name=request.query_params.get("workspace"))
        return Response(VmSizeOutputSerializer(selectors.vm_size_list(workspace=workspace), many=True).data)


class ComputeListCreateApi(APIView):
    @extend_schema(parameters=[WORKSPACE], responses=ComputeOutputSerializer(many=True))
    def get(self, request):
        workspace = selectors.workspace_for_user(user=request.user, name=request.query_params.get("workspace"))
        return Response(ComputeOutputSerializer(selectors.cluster_list(workspace=workspace), many=True).data)

    @extend_schema(request=ComputeCreateInputSerializer, responses={201: ComputeOutputSerializer})
    def post(self, request):
        data = ComputeCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        workspace = selectors.workspace_for_user(user=request.user, name=values.get("workspace"))
        cluster = services.cluster_create(
            user=request.user, workspace=workspace, name=values["name"], size=values["size"],
            min_instances=values["min_instances"], max_instances=values["max_instances"],
            idle_seconds=values["idle_time_before_scale_down"])
        return Response(ComputeOutputSerializer(selectors.cluster_get(workspace=workspace, name=cluster.name)).data,
                        status=status.HTTP_201_CREATED)


class ComputeDetailApi(APIView):
    @extend_schema(parameters=[WORKSPACE], responses=ComputeOutputSerializer)
    def get(self, request, name: str):
        workspace = selectors.workspace_for_user(user=request.user, name=request.query_params.get("workspace"))
        return Response(ComputeOutputSerializer(selectors.cluster_get(workspace=workspace, name=name)).data)

    @extend_schema(parameters=[WORKSPACE], responses={204: None})
    def delete(self, request, name: str):
        workspace = selectors.workspace_for_user(user=request.user, name=request.query_params.get("workspace"))
        services.cluster_delete(user=request.user, workspace=workspace, name=name)
        return Response(status=status.HTTP_204_NO_CONTENT)
